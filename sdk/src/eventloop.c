/* applibs/eventloop.h on epoll. One event is taken per epoll_wait, so a
 * callback may unregister (or close) any registration, its own included,
 * without leaving a stale pointer behind. EventLoop_Stop from another
 * thread wakes the loop through an eventfd. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <applibs/eventloop.h>

#include "sdk_priv.h"

#define IO_MASK (EventLoop_Input | EventLoop_Output | EventLoop_Error)

struct EventRegistration {
	EventLoop *el;
	int fd;
	uint32_t events;
	rp_sdk_io_cb *cb;
	void *ctx;
	void (*dtor)(void *ctx);
	struct EventRegistration *prev, *next;
};

struct EventLoop {
	int ep, wake;
	atomic_int stop;
	int running;
	struct EventRegistration *head;
};

EventLoop *EventLoop_Create(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	EventLoop *el = calloc(1, sizeof(*el));
	int err;

	if (!el) {
		errno = ENOMEM;
		return NULL;
	}
	el->ep = epoll_create1(EPOLL_CLOEXEC);
	el->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (el->ep < 0 || el->wake < 0 ||
	    epoll_ctl(el->ep, EPOLL_CTL_ADD, el->wake, &ev) < 0) {
		err = errno;
		if (el->ep >= 0)
			close(el->ep);
		if (el->wake >= 0)
			close(el->wake);
		free(el);
		errno = err;
		return NULL;
	}
	atomic_init(&el->stop, 0);
	return el;
}

static void unlink_reg(EventLoop *el, struct EventRegistration *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		el->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void release(struct EventRegistration *r)
{
	if (r->dtor)
		r->dtor(r->ctx);
	free(r);
}

void EventLoop_Close(EventLoop *el)
{
	if (!el)
		return;
	while (el->head) {
		struct EventRegistration *r = el->head;

		unlink_reg(el, r);
		(void)epoll_ctl(el->ep, EPOLL_CTL_DEL, r->fd, NULL);
		release(r);
	}
	close(el->ep);
	close(el->wake);
	free(el);
}

static uint32_t to_epoll(uint32_t ev)
{
	uint32_t e = 0;

	if (ev & EventLoop_Input)
		e |= EPOLLIN;
	if (ev & EventLoop_Output)
		e |= EPOLLOUT;
	return e;
}

struct EventRegistration *rp_sdk_loop_register(EventLoop *el, int fd, uint32_t events,
					       rp_sdk_io_cb *cb, void *ctx,
					       void (*dtor)(void *ctx))
{
	struct EventRegistration *r;
	struct epoll_event ev;

	if (!el || !cb) {
		errno = EFAULT;
		return NULL;
	}
	if (events & ~(uint32_t)IO_MASK) {
		errno = EINVAL;
		return NULL;
	}
	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	*r = (struct EventRegistration){ .el = el, .fd = fd, .events = events,
					 .cb = cb, .ctx = ctx, .dtor = dtor };
	ev.events = to_epoll(events);
	ev.data.ptr = r;
	if (epoll_ctl(el->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		free(r);
		errno = err;
		return NULL;
	}
	r->next = el->head;
	if (el->head)
		el->head->prev = r;
	el->head = r;
	return r;
}

EventRegistration *EventLoop_RegisterIo(EventLoop *el, int fd,
					EventLoop_IoEvents eventBitmask,
					EventLoopIoCallback *callback, void *context)
{
	return rp_sdk_loop_register(el, fd, eventBitmask, (rp_sdk_io_cb *)callback,
				    context, NULL);
}

void rp_sdk_loop_detach(struct EventRegistration *reg)
{
	if (reg)
		(void)epoll_ctl(reg->el->ep, EPOLL_CTL_DEL, reg->fd, NULL);
}

EventLoop *rp_sdk_reg_loop(struct EventRegistration *reg)
{
	return reg ? reg->el : NULL;
}

void *rp_sdk_reg_ctx(struct EventRegistration *reg, void (*dtor)(void *ctx))
{
	return reg && reg->dtor == dtor ? reg->ctx : NULL;
}

int EventLoop_ModifyIoEvents(EventLoop *el, EventRegistration *reg,
			     EventLoop_IoEvents eventBitmask)
{
	struct epoll_event ev;

	if (!el || !reg) {
		errno = EFAULT;
		return -1;
	}
	if (eventBitmask & ~(uint32_t)IO_MASK) {
		errno = EINVAL;
		return -1;
	}
	ev.events = to_epoll(eventBitmask);
	ev.data.ptr = reg;
	if (epoll_ctl(el->ep, EPOLL_CTL_MOD, reg->fd, &ev) < 0)
		return -1;
	reg->events = eventBitmask;
	return 0;
}

int EventLoop_UnregisterIo(EventLoop *el, EventRegistration *reg)
{
	if (!reg)
		return 0;
	if (!el) {
		errno = EFAULT;
		return -1;
	}
	/* The descriptor may already be gone from the set (closed, or
	 * dropped by its owner): the registration still goes. */
	(void)epoll_ctl(el->ep, EPOLL_CTL_DEL, reg->fd, NULL);
	unlink_reg(el, reg);
	release(reg);
	return 0;
}

int EventLoop_GetWaitDescriptor(EventLoop *el)
{
	if (!el) {
		errno = EFAULT;
		return -1;
	}
	return el->ep;
}

int EventLoop_Stop(EventLoop *el)
{
	uint64_t one = 1;

	if (!el) {
		errno = EFAULT;
		return -1;
	}
	atomic_store(&el->stop, 1);
	if (write(el->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

EventLoop_Run_Result EventLoop_Run(EventLoop *el, int duration_in_milliseconds,
				   bool process_one_event)
{
	long long deadline = 0;
	int processed = 0, failed = 0, err = 0;

	if (!el) {
		errno = EFAULT;
		return EventLoop_Run_Failed;
	}
	if (el->running) {
		errno = EBUSY;
		return EventLoop_Run_Failed;
	}
	if (duration_in_milliseconds > 0)
		deadline = now_ms() + duration_in_milliseconds;
	el->running = 1;
	for (;;) {
		struct epoll_event ev;
		struct EventRegistration *r;
		uint32_t out;
		int timeout = -1, n;

		if (atomic_exchange(&el->stop, 0)) {
			drain(el->wake);
			break;
		}
		if (duration_in_milliseconds == 0) {
			timeout = 0;
		} else if (duration_in_milliseconds > 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				break;
			timeout = (int)left;
		}
		n = epoll_wait(el->ep, &ev, 1, timeout);
		if (n < 0) {
			failed = 1;
			err = errno;
			break;
		}
		if (n == 0) {
			if (duration_in_milliseconds == 0)
				break;
			continue;
		}
		if (!ev.data.ptr) {
			drain(el->wake);
			continue;
		}
		r = ev.data.ptr;
		out = ev.events & (EPOLLIN | EPOLLOUT | EPOLLERR);
		if (ev.events & (EPOLLHUP | EPOLLRDHUP))
			out |= (r->events & EventLoop_Input) ? EventLoop_Input
							     : EventLoop_Error;
		r->cb(el, r->fd, out, r->ctx);
		processed++;
		if (duration_in_milliseconds == 0 || process_one_event)
			break;
	}
	el->running = 0;
	if (failed) {
		errno = err;
		return EventLoop_Run_Failed;
	}
	return processed ? EventLoop_Run_Finished : EventLoop_Run_FinishedEmpty;
}
