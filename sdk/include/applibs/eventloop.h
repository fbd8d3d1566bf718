/* applibs/eventloop.h: a single-threaded event loop (Azure Sphere
 * compatible). Rampart implements it with epoll; the wait descriptor is the
 * epoll descriptor. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct EventLoop EventLoop;
typedef struct EventRegistration EventRegistration;

/* A new loop, or NULL with errno. Release it with EventLoop_Close. */
EventLoop *EventLoop_Create(void);

/* Release el and every registration still in it. */
void EventLoop_Close(EventLoop *el);

typedef int EventLoop_Run_Result;
enum {
	EventLoop_Run_Failed = -1,       /* errno says why */
	EventLoop_Run_FinishedEmpty = 0, /* no event was processed */
	EventLoop_Run_Finished = 1,      /* one or more events were processed */
};

/* Dispatch events in the calling thread. duration_in_milliseconds: 0
 * processes at most one ready event and returns; > 0 runs that long; < 0
 * runs until EventLoop_Stop. process_one_event: return after the first
 * event. Failed with errno: EFAULT (el NULL), EBUSY (called from one of
 * its own callbacks), EINTR (a signal arrived). */
EventLoop_Run_Result EventLoop_Run(EventLoop *el, int duration_in_milliseconds,
				   bool process_one_event);

/* A descriptor that polls readable when el has work for EventLoop_Run. */
int EventLoop_GetWaitDescriptor(EventLoop *el);

/* Make the current (or next) EventLoop_Run return. Callable from a
 * callback or from another thread. */
int EventLoop_Stop(EventLoop *el);

typedef uint32_t EventLoop_IoEvents;
enum {
	EventLoop_None = 0x00,
	EventLoop_Input = 0x01,
	EventLoop_Output = 0x04,
	EventLoop_Error = 0x08, /* always reported, asked for or not */
};

typedef void EventLoopIoCallback(EventLoop *el, int fd, EventLoop_IoEvents events,
				 void *context);

/* Call callback when fd has any of eventBitmask. NULL with errno: EFAULT,
 * EINVAL (unknown bits), EBADF, EEXIST (fd already registered in el). The
 * descriptor must stay open while it is registered. */
EventRegistration *EventLoop_RegisterIo(EventLoop *el, int fd,
					EventLoop_IoEvents eventBitmask,
					EventLoopIoCallback *callback, void *context);

/* Change the events of a registration. EFAULT, EINVAL. */
int EventLoop_ModifyIoEvents(EventLoop *el, EventRegistration *reg,
			     EventLoop_IoEvents eventBitmask);

/* Remove a registration (NULL: nothing happens). It may be called from any
 * callback, including the registration's own. */
int EventLoop_UnregisterIo(EventLoop *el, EventRegistration *reg);

#ifdef __cplusplus
}
#endif
