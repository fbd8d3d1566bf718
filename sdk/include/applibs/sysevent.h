/* applibs/sysevent.h: update notifications and deferral (Azure Sphere
 * compatible). Registering needs Capabilities.SystemEventNotifications;
 * deferring an update needs SoftwareUpdateDeferral. Events arrive through
 * the EventLoop given at registration. */
#pragma once

#include <stdint.h>

#include <applibs/eventloop.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t SysEvent_Events;
enum {
	SysEvent_Events_None = 0x00,
	SysEvent_Events_UpdateReadyForInstall = 0x01,
	SysEvent_Events_UpdateStarted = 0x02,
	SysEvent_Events_NoUpdateAvailable = 0x04,
	SysEvent_Events_Mask = SysEvent_Events_UpdateStarted |
			       SysEvent_Events_UpdateReadyForInstall |
			       SysEvent_Events_NoUpdateAvailable
};

typedef uint32_t SysEvent_Status;
enum {
	SysEvent_Status_Invalid = 0,
	SysEvent_Status_Pending = 1,  /* will happen; may be deferred */
	SysEvent_Status_Final = 2,    /* will happen; may not be deferred */
	SysEvent_Status_Deferred = 3, /* a pending event was deferred */
	SysEvent_Status_Complete = 4
};

typedef uint32_t SysEvent_UpdateType;
enum {
	SysEvent_UpdateType_Invalid = 0,
	SysEvent_UpdateType_App = 1,    /* an app update: the app restarts */
	SysEvent_UpdateType_System = 2  /* an OS update: the device reboots */
};

/* Filled by SysEvent_Info_GetUpdateData. max_deferral_time_in_minutes is
 * meaningful only for SysEvent_Status_Pending. */
typedef struct SysEvent_Info_UpdateData {
	unsigned int max_deferral_time_in_minutes;
	SysEvent_UpdateType update_type;
} SysEvent_Info_UpdateData;

/* Opaque; valid only during the callback that received it. */
typedef struct SysEvent_Info SysEvent_Info;

/* EFAULT: an argument is NULL; EINVAL: info is not from an
 * UpdateReadyForInstall event. */
int SysEvent_Info_GetUpdateData(const SysEvent_Info *info,
				SysEvent_Info_UpdateData *update_info);

/* Called once per status change of one event. */
typedef void SysEvent_EventsCallback(SysEvent_Events event, SysEvent_Status state,
				     const SysEvent_Info *info, void *context);

/* Register for the events of eventBitmask, delivered through el. Keep one
 * registration at a time. NULL with errno: EACCES (no
 * SystemEventNotifications), EFAULT, EINVAL (unknown events). */
EventRegistration *SysEvent_RegisterForEventNotifications(EventLoop *el,
							  SysEvent_Events eventBitmask,
							  SysEvent_EventsCallback *callback,
							  void *context);

/* End a registration. EFAULT: reg is NULL. */
int SysEvent_UnregisterForEventNotifications(EventRegistration *reg);

/* Defer a pending event (one event bit) by up to
 * requested_defer_time_in_minutes (longer is cut to the maximum). EACCES:
 * no SoftwareUpdateDeferral; EINVAL. */
int SysEvent_DeferEvent(SysEvent_Events event, uint32_t requested_defer_time_in_minutes);

/* Let a deferred event happen now. EACCES; EINVAL. */
int SysEvent_ResumeEvent(SysEvent_Events event);

#ifdef __cplusplus
}
#endif
