/* See timer.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "timer.h"

struct sample_timer {
	EventLoop *el;
	EventRegistration *reg;
	int fd;
	sample_timer_fn fn;
	void *ctx;
};

static void on_timer(EventLoop *el, int fd, EventLoop_IoEvents events, void *ctx)
{
	struct sample_timer *t = ctx;
	uint64_t expirations;

	(void)el;
	(void)events;
	/* Nothing to read after a disarm or a spurious wakeup: no call. */
	if (read(fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
		return;
	t->fn(t, t->ctx);
}

struct sample_timer *sample_timer_create(EventLoop *el, sample_timer_fn fn, void *ctx)
{
	struct sample_timer *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return NULL;
	t->el = el;
	t->fn = fn;
	t->ctx = ctx;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0)
		goto fail;
	t->reg = EventLoop_RegisterIo(el, t->fd, EventLoop_Input, on_timer, t);
	if (!t->reg)
		goto fail;
	return t;
fail:
	err = errno;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	errno = err;
	return NULL;
}

static int arm(struct sample_timer *t, const struct timespec *first,
	       const struct timespec *period)
{
	struct itimerspec its = { .it_interval = *period, .it_value = *first };

	return timerfd_settime(t->fd, 0, &its, NULL);
}

int sample_timer_periodic(struct sample_timer *t, const struct timespec *period)
{
	if (period->tv_sec == 0 && period->tv_nsec == 0) {
		errno = EINVAL;
		return -1;
	}
	return arm(t, period, period);
}

int sample_timer_oneshot(struct sample_timer *t, const struct timespec *delay)
{
	static const struct timespec none = { 0, 0 };

	if (delay->tv_sec == 0 && delay->tv_nsec == 0) {
		errno = EINVAL;
		return -1;
	}
	return arm(t, delay, &none);
}

int sample_timer_disarm(struct sample_timer *t)
{
	static const struct timespec none = { 0, 0 };

	return arm(t, &none, &none);
}

void sample_timer_destroy(struct sample_timer *t)
{
	if (!t)
		return;
	if (t->reg)
		(void)EventLoop_UnregisterIo(t->el, t->reg);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

struct timespec sample_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	return ts;
}
