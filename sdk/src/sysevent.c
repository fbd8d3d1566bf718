/* applibs/sysevent.h. Registration keeps its own app-socket connection:
 * {"sysevent":"register","events":[...]} then rampartd sends each event as
 * a line on it, e.g. {"event":"UpdateReadyForInstall","component_id":...,
 * "max_deferral_minutes":1440}. The connection is watched by the app's
 * EventLoop, so callbacks run in EventLoop_Run like Azure's. Defer and
 * resume are one request each on a fresh connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <applibs/sysevent.h>

#include "sdk_priv.h"

struct SysEvent_Info {
	SysEvent_Events event;
	SysEvent_Status status;
	unsigned int max_deferral;
	SysEvent_UpdateType update_type;
};

struct reg {
	int s;
	SysEvent_Events mask;
	SysEvent_EventsCallback *cb;
	void *ctx;
	struct rp_sdk_lines in;
	struct EventRegistration *self;
};

static const struct {
	SysEvent_Events bit;
	const char *name;
} names[] = {
	{ SysEvent_Events_UpdateReadyForInstall, "UpdateReadyForInstall" },
	{ SysEvent_Events_UpdateStarted, "UpdateStarted" },
	{ SysEvent_Events_NoUpdateAvailable, "NoUpdateAvailable" },
};

static const struct {
	SysEvent_Status st;
	const char *name;
} statuses[] = {
	{ SysEvent_Status_Pending, "Pending" },
	{ SysEvent_Status_Final, "Final" },
	{ SysEvent_Status_Deferred, "Deferred" },
	{ SysEvent_Status_Complete, "Complete" },
};

static const char *event_name(SysEvent_Events e)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].bit == e)
			return names[i].name;
	return NULL;
}

static SysEvent_Events event_bit(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, s) == 0)
			return names[i].bit;
	return SysEvent_Events_None;
}

int SysEvent_Info_GetUpdateData(const SysEvent_Info *info,
				SysEvent_Info_UpdateData *update_info)
{
	if (!info || !update_info) {
		errno = EFAULT;
		return -1;
	}
	if (info->event != SysEvent_Events_UpdateReadyForInstall) {
		errno = EINVAL;
		return -1;
	}
	update_info->max_deferral_time_in_minutes = info->max_deferral;
	update_info->update_type = info->update_type;
	return 0;
}

static void reg_free(void *p)
{
	struct reg *r = p;

	if (!r)
		return;
	rp_sdk_lines_reset(&r->in);
	if (r->s >= 0) {
		close(r->s);
		rp_sdk_sysevent_conns(-1);
	}
	free(r);
}

/* Deliver one event line. Unknown or malformed lines are skipped: a newer
 * rampartd may send more than this SDK knows. */
static void deliver(struct reg *r, json_t *m)
{
	struct SysEvent_Info info = { 0 };
	json_t *v;
	const char *st;
	size_t i;

	info.event = event_bit(json_string_value(json_object_get(m, "event")));
	if (!info.event || !(info.event & r->mask))
		return;
	v = json_object_get(m, "max_deferral_minutes");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 100000)
		info.max_deferral = (unsigned int)json_integer_value(v);
	st = json_string_value(json_object_get(m, "status"));
	info.status = info.max_deferral ? SysEvent_Status_Pending : SysEvent_Status_Final;
	for (i = 0; st && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(statuses[i].name, st) == 0)
			info.status = statuses[i].st;
	info.update_type = SysEvent_UpdateType_App;
	v = json_object_get(m, "update_type");
	if (json_is_string(v) && strcmp(json_string_value(v), "System") == 0)
		info.update_type = SysEvent_UpdateType_System;
	r->cb(info.event, info.status, &info, r->ctx);
}

static void on_conn(struct EventLoop *el, int fd, uint32_t events, void *ctx)
{
	struct reg *r = ctx;
	int lines = 0;

	(void)el;
	(void)events;
	while (lines++ < 16) {
		json_t *m = NULL;
		int mfd = -1, rc = rp_sdk_lines_read(fd, &r->in, 0, &m, &mfd);

		if (mfd >= 0)
			close(mfd);
		if (rc == 0)
			return;
		if (rc < 0) {
			/* rampartd went away or spoke nonsense: stop watching;
			 * the registration stays until the app ends it. */
			rp_sdk_loop_detach(r->self);
			return;
		}
		/* deliver() skips what is not an event, such as a
		 * partner's channel offer when this is the app's oldest
		 * connection. */
		deliver(r, m);
		json_decref(m);
	}
}

EventRegistration *SysEvent_RegisterForEventNotifications(EventLoop *el,
							  SysEvent_Events eventBitmask,
							  SysEvent_EventsCallback *callback,
							  void *context)
{
	json_t *req = NULL, *arr, *m = NULL;
	struct reg *r = NULL;
	EventRegistration *er = NULL;
	size_t i;
	int err = 0, mfd = -1, rc;

	if (!el || !callback) {
		errno = EFAULT;
		return NULL;
	}
	if (!eventBitmask || (eventBitmask & ~(SysEvent_Events)SysEvent_Events_Mask)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->s = -1; /* reg_free must not close descriptor 0 */
	arr = json_array();
	req = json_pack("{s:s,s:o}", "sysevent", "register", "events", arr);
	if (!r || !arr || !req) {
		err = ENOMEM;
		goto out;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((eventBitmask & names[i].bit) &&
		    json_array_append_new(arr, json_string(names[i].name))) {
			err = ENOMEM;
			goto out;
		}
	r->mask = eventBitmask;
	r->cb = callback;
	r->ctx = context;
	rp_sdk_lines_init(&r->in);
	r->s = rp_sdk_connect();
	if (r->s >= 0)
		rp_sdk_sysevent_conns(1);
	if (r->s < 0 || rp_sdk_send(r->s, req) < 0) {
		err = errno;
		goto out;
	}
	/* The reply comes first on this connection; events follow it. */
	for (;;) {
		rc = rp_sdk_lines_read(r->s, &r->in, RP_SDK_REPLY_MS, &m, &mfd);
		if (mfd >= 0)
			close(mfd);
		mfd = -1;
		if (rc <= 0) {
			err = rc == 0 ? ETIMEDOUT : errno;
			goto out;
		}
		if (!json_object_get(m, "incoming"))
			break;
		json_decref(m);
		m = NULL;
	}
	if (rp_sdk_reply_error(m)) {
		err = errno == EPERM ? EACCES : errno;
		goto out;
	}
	if (!json_is_array(json_object_get(m, "registered"))) {
		err = EPROTO;
		goto out;
	}
	er = rp_sdk_loop_register(el, r->s, EventLoop_Input, on_conn, r, reg_free);
	if (!er) {
		err = errno;
		goto out;
	}
	r->self = er;
	/* Events that came in the same read as the reply are buffered and
	 * the socket may not poll readable for them: deliver them now.
	 * (The callback runs here, before the app has the registration.) */
	if (memchr(r->in.buf, '\n', r->in.len))
		on_conn(el, r->s, EventLoop_Input, r);
	r = NULL; /* owned by the registration now */
out:
	json_decref(m);
	json_decref(req);
	reg_free(r);
	if (!er)
		errno = err;
	return er;
}

int SysEvent_UnregisterForEventNotifications(EventRegistration *reg)
{
	if (!reg) {
		errno = EFAULT;
		return -1;
	}
	if (!rp_sdk_reg_ctx(reg, reg_free)) {
		errno = EINVAL;
		return -1;
	}
	return EventLoop_UnregisterIo(rp_sdk_reg_loop(reg), reg);
}

static int one_event(SysEvent_Events event, const char **name)
{
	*name = event_name(event);
	if (!*name) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int request(json_t *req)
{
	json_t *reply = NULL;
	int rc, err;

	if (!req) {
		errno = ENOMEM;
		return -1;
	}
	rc = rp_sdk_call(req, &reply, NULL);
	err = errno;
	json_decref(req);
	json_decref(reply);
	if (rc < 0) {
		errno = err == EPERM ? EACCES : err;
		return -1;
	}
	return 0;
}

int SysEvent_DeferEvent(SysEvent_Events event, uint32_t requested_defer_time_in_minutes)
{
	const char *name;
	uint32_t m = requested_defer_time_in_minutes;

	if (one_event(event, &name) < 0)
		return -1;
	if (event != SysEvent_Events_UpdateReadyForInstall || m == 0) {
		errno = EINVAL;
		return -1;
	}
	if (m > 1440)
		m = 1440; /* longer requests are cut to the maximum (24 h) */
	return request(json_pack("{s:s,s:s,s:i}", "sysevent", "defer", "event", name,
				 "minutes", (int)m));
}

int SysEvent_ResumeEvent(SysEvent_Events event)
{
	const char *name;

	if (one_event(event, &name) < 0)
		return -1;
	if (event != SysEvent_Events_UpdateReadyForInstall) {
		errno = EINVAL;
		return -1;
	}
	return request(json_pack("{s:s,s:s}", "sysevent", "resume", "event", name));
}
