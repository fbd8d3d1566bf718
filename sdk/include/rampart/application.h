/* Rampart's addition to the app SDK (not an Azure Sphere API): the side
 * of an inter-app channel that is asked. Application_Connect opens a
 * channel to a partner app; the partner receives it here.
 *
 *   int lfd = Rampart_Application_Listen();   // before SysEvent_Register...
 *   EventLoop_RegisterIo(el, lfd, EventLoop_Input, OnOffer, NULL);
 *   ...
 *   static void OnOffer(EventLoop *el, int fd, EventLoop_IoEvents ev, void *ctx)
 *   {
 *       char from[37];
 *       int ch;
 *
 *       while ((ch = Rampart_Application_Accept(fd, from)) >= 0 || errno == EPROTO)
 *           if (ch >= 0)
 *               ...;                          // a SOCK_SEQPACKET channel from `from`
 *       // errno EAGAIN: nothing more pending; ECONNRESET: rampartd went away
 *   }
 *
 * docs/sdk.md, "Receiving a channel". */
#ifndef RAMPART_APPLICATION_H
#define RAMPART_APPLICATION_H

#ifdef __cplusplus
extern "C" {
#endif

/* A ComponentId as text (36 characters) and its NUL. */
#define RAMPART_COMPONENT_ID_SIZE 37

/* Open the app's connection that receives channels, once: later calls
 * return the same descriptor. rampartd offers channels on the app's
 * oldest connection, so call this before SysEvent_RegisterForEventNotifications
 * (which keeps its own connection): with a registration open it fails with
 * EBUSY. Watch the descriptor for readability; do not read it or close it.
 * Returns the descriptor, or -1 with errno. */
int Rampart_Application_Listen(void);

/* Take one offer from listenFd (from Rampart_Application_Listen). Returns
 * the channel, a connected SOCK_SEQPACKET socket (close-on-exec) the caller
 * owns, and writes the asking app's ComponentId into componentId. Offers
 * may be buffered: when the descriptor is readable, call this until it
 * fails with EAGAIN. Returns -1 with errno:
 *   EAGAIN      nothing is pending;
 *   EPROTO      a malformed offer (skipped: call again);
 *   ECONNRESET  rampartd closed the connection (a later Listen opens a new
 *               one; unregister the old descriptor from the EventLoop first);
 *   EBADF       listenFd is not the listening descriptor; EFAULT: componentId
 *               is NULL. */
int Rampart_Application_Accept(int listenFd, char componentId[RAMPART_COMPONENT_ID_SIZE]);

#ifdef __cplusplus
}
#endif

#endif
