/* Periodic and one-shot timers on an applibs EventLoop, for the samples.
 *
 * Azure Sphere's samples ship a helper like this one
 * (eventloop_timer_utilities.h) as sample code, not as part of applibs;
 * this is Rampart's own, smaller equivalent: a timerfd registered on the
 * loop. The callback runs from EventLoop_Run after the expirations have
 * been read, so a slow callback never sees the same expiry twice.
 *
 * Ownership: sample_timer_create returns a timer the caller frees with
 * sample_timer_destroy (which accepts NULL), before closing the loop. */
#ifndef SAMPLES_COMMON_TIMER_H
#define SAMPLES_COMMON_TIMER_H

#include <time.h>

#include <applibs/eventloop.h>

struct sample_timer;

typedef void (*sample_timer_fn)(struct sample_timer *t, void *ctx);

/* A disarmed timer on el; NULL with errno set on failure. */
struct sample_timer *sample_timer_create(EventLoop *el, sample_timer_fn fn, void *ctx);

/* Fire every *period from now on (0 on success, -1 and errno). */
int sample_timer_periodic(struct sample_timer *t, const struct timespec *period);

/* Fire once, *delay from now. */
int sample_timer_oneshot(struct sample_timer *t, const struct timespec *delay);

/* Stop it; it may be armed again later. */
int sample_timer_disarm(struct sample_timer *t);

void sample_timer_destroy(struct sample_timer *t);

/* A struct timespec of ms milliseconds. */
struct timespec sample_ms(unsigned int ms);

#endif
