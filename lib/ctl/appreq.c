/* App-socket requests: strict decoding and encoding (appreq.h). */
#include "ctl/appreq.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "ctl/ctl.h"
#include "format/manifest.h"

static const char *const periph_names[] = {
	NULL, "Gpio", "I2cMaster", "SpiMaster", "Uart", "Pwm", "Adc",
};
static const char *const drive_names[] = { "PushPull", "OpenDrain", "OpenSource" };
static const char *const event_names[] = {
	"UpdateReadyForInstall", "UpdateStarted", "NoUpdateAvailable",
};
static const char *const power_names[] = {
	NULL, "ForceReboot", "ForcePowerDown", "SetPowerProfile",
};
static const char *const profile_names[] = {
	NULL, "PowerSaver", "Balanced", "HighPerformance",
};
static const char *const sysev_names[] = {
	NULL, "register", "unregister", "defer", "resume",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *rp_appreq_periph_name(enum rp_appreq_periph p)
{
	return (size_t)p < N(periph_names) ? periph_names[p] : NULL;
}

const char *rp_appreq_event_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < N(event_names); i++)
		if (bit == 1u << i)
			return event_names[i];
	return NULL;
}

const char *rp_appreq_power_name(enum rp_appreq_power p)
{
	return (size_t)p < N(power_names) ? power_names[p] : NULL;
}

const char *rp_appreq_profile_name(enum rp_power_profile p)
{
	return (size_t)p < N(profile_names) ? profile_names[p] : NULL;
}

/* The index of v's string in names (NULL entries skipped), or -1. */
static int lookup(json_t *v, const char *const *names, size_t n)
{
	const char *s;
	size_t i;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return -1;
	for (i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int get_uint(json_t *o, const char *key, uint32_t max, uint32_t *out,
		    struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return rp_err_set(e, RP_EINVAL, "%s: missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)max)
		return rp_err_set(e, RP_EINVAL, "%s: must be an integer from 0 to %u",
				  key, max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int only(json_t *o, const char *const *keys, struct rp_err *e)
{
	if (rp_json_only_keys(o, keys, "", e)) {
		e->code = RP_EINVAL;
		return RP_EINVAL;
	}
	return 0;
}

static int decode_open(json_t *o, struct rp_appreq *r, struct rp_err *e)
{
	static const char *const gpio_keys[] = {
		"open", "id", "direction", "output_mode", "value", NULL,
	};
	static const char *const spi_keys[] = { "open", "id", "chip_select", NULL };
	static const char *const keys[] = { "open", "id", NULL };
	json_t *v;
	int i, rc;

	i = lookup(json_object_get(o, "open"), periph_names, N(periph_names));
	if (i < 0)
		return rp_err_set(e, RP_EINVAL, "open: must be one of Gpio, I2cMaster, "
				  "SpiMaster, Uart, Pwm, Adc");
	r->periph = (enum rp_appreq_periph)i;
	if ((rc = only(o, r->periph == RP_PERIPH_GPIO ? gpio_keys :
		       r->periph == RP_PERIPH_SPI ? spi_keys : keys, e)) ||
	    (rc = get_uint(o, "id", RP_APPREQ_ID_MAX, &r->id, e)))
		return rc;
	if (r->periph == RP_PERIPH_SPI && json_object_get(o, "chip_select")) {
		if ((rc = get_uint(o, "chip_select", RP_APPREQ_CS_MAX, &r->chip_select, e)))
			return rc;
		r->has_cs = 1;
	}
	if (r->periph != RP_PERIPH_GPIO)
		return 0;
	v = json_object_get(o, "direction");
	if (!v)
		return rp_err_set(e, RP_EINVAL, "direction: missing");
	if (json_is_string(v) && strcmp(json_string_value(v), "output") == 0 &&
	    json_string_length(v) == 6)
		r->output = 1;
	else if (!json_is_string(v) || strcmp(json_string_value(v), "input") != 0 ||
		 json_string_length(v) != 5)
		return rp_err_set(e, RP_EINVAL, "direction: must be \"input\" or \"output\"");
	if (!r->output) {
		if (json_object_get(o, "output_mode") || json_object_get(o, "value"))
			return rp_err_set(e, RP_EINVAL, "output_mode and value: only for "
					  "direction \"output\"");
		return 0;
	}
	if ((v = json_object_get(o, "output_mode"))) {
		i = lookup(v, drive_names, N(drive_names));
		if (i < 0)
			return rp_err_set(e, RP_EINVAL, "output_mode: must be PushPull, "
					  "OpenDrain or OpenSource");
		r->drive = (enum rp_appreq_drive)i;
	}
	if (json_object_get(o, "value")) {
		uint32_t x;

		if ((rc = get_uint(o, "value", 1, &x, e)))
			return rc;
		r->value = (int)x;
	}
	return 0;
}

static int get_event(json_t *o, unsigned *out, struct rp_err *e)
{
	int i = lookup(json_object_get(o, "event"), event_names, N(event_names));

	if (i < 0)
		return rp_err_set(e, RP_EINVAL, "event: %s",
				  json_object_get(o, "event") ? "unknown event" : "missing");
	if (i != 0)
		return rp_err_set(e, RP_EINVAL, "event: only UpdateReadyForInstall "
				  "can be deferred");
	*out = 1u << i;
	return 0;
}

static int decode_sysevent(json_t *o, struct rp_appreq *r, struct rp_err *e)
{
	static const char *const reg_keys[] = { "sysevent", "events", NULL };
	static const char *const unreg_keys[] = { "sysevent", NULL };
	static const char *const defer_keys[] = { "sysevent", "event", "minutes", NULL };
	static const char *const resume_keys[] = { "sysevent", "event", NULL };
	json_t *v;
	size_t k;
	int i, rc;

	i = lookup(json_object_get(o, "sysevent"), sysev_names, N(sysev_names));
	if (i < 0)
		return rp_err_set(e, RP_EINVAL, "sysevent: must be register, "
				  "unregister, defer or resume");
	r->sysev = (enum rp_appreq_sysev)i;
	switch (r->sysev) {
	case RP_SYSEV_REGISTER:
		if ((rc = only(o, reg_keys, e)))
			return rc;
		v = json_object_get(o, "events");
		if (!json_is_array(v) || json_array_size(v) < 1 ||
		    json_array_size(v) > N(event_names))
			return rp_err_set(e, RP_EINVAL, "events: must be an array of 1 to "
					  "%zu event names", N(event_names));
		for (k = 0; k < json_array_size(v); k++) {
			i = lookup(json_array_get(v, k), event_names, N(event_names));
			if (i < 0)
				return rp_err_set(e, RP_EINVAL, "events[%zu]: unknown event", k);
			if (r->events & (1u << i))
				return rp_err_set(e, RP_EINVAL, "events[%zu]: listed twice", k);
			r->events |= 1u << i;
		}
		return 0;
	case RP_SYSEV_UNREGISTER:
		return only(o, unreg_keys, e);
	case RP_SYSEV_DEFER:
		if ((rc = only(o, defer_keys, e)) || (rc = get_event(o, &r->events, e)) ||
		    (rc = get_uint(o, "minutes", RP_DEFER_MINUTES_MAX, &r->minutes, e)))
			return rc;
		if (r->minutes < 1)
			return rp_err_set(e, RP_EINVAL, "minutes: must be from 1 to %d",
					  RP_DEFER_MINUTES_MAX);
		return 0;
	case RP_SYSEV_RESUME:
		if ((rc = only(o, resume_keys, e)))
			return rc;
		return get_event(o, &r->events, e);
	}
	return rp_err_set(e, RP_EINVAL, "sysevent: unknown");
}

static int decode_power(json_t *o, struct rp_appreq *r, struct rp_err *e)
{
	static const char *const keys[] = { "power", NULL };
	static const char *const prof_keys[] = { "power", "profile", NULL };
	int i, rc;

	i = lookup(json_object_get(o, "power"), power_names, N(power_names));
	if (i < 0)
		return rp_err_set(e, RP_EINVAL, "power: must be ForceReboot, "
				  "ForcePowerDown or SetPowerProfile");
	r->power = (enum rp_appreq_power)i;
	if (r->power != RP_POWER_PROFILE)
		return only(o, keys, e);
	if ((rc = only(o, prof_keys, e)))
		return rc;
	i = lookup(json_object_get(o, "profile"), profile_names, N(profile_names));
	if (i < 0)
		return rp_err_set(e, RP_EINVAL, "profile: must be PowerSaver, Balanced "
				  "or HighPerformance");
	r->profile = (enum rp_power_profile)i;
	return 0;
}

/* {"<key>":"<word>"} and nothing else. */
static int decode_word(json_t *o, const char *key, const char *word,
		       struct rp_err *e)
{
	const char *const keys[] = { key, NULL };
	json_t *v = json_object_get(o, key);
	int rc;

	if ((rc = only(o, keys, e)))
		return rc;
	if (!json_is_string(v) || strcmp(json_string_value(v), word) != 0 ||
	    json_string_length(v) != strlen(word))
		return rp_err_set(e, RP_EINVAL, "%s: must be \"%s\"", key, word);
	return 0;
}

int rp_appreq_decode(const uint8_t *buf, size_t len, struct rp_appreq *r,
		     struct rp_err *e)
{
	static const char *const kinds[] = {
		"connect", "open", "sysevent", "power", "deviceauth", "storage",
	};
	static const char *const connect_keys[] = { "connect", NULL };
	json_t *o = NULL, *v;
	size_t i, found = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = rp_json_parse(buf, len, RP_CTL_CHAN_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EINVAL, "must be a JSON object");
		goto out;
	}
	for (i = 0; i < N(kinds); i++)
		if (json_object_get(o, kinds[i])) {
			found++;
			r->kind = (enum rp_appreq_kind)(i + 1);
		}
	if (found != 1) {
		rc = rp_err_set(e, RP_EINVAL, "%s", found ? "more than one request "
				"in one message" : "no request (connect, open, sysevent, "
				"power, deviceauth or storage)");
		goto out;
	}
	switch (r->kind) {
	case RP_APPREQ_CONNECT:
		if ((rc = only(o, connect_keys, e)))
			goto out;
		v = json_object_get(o, "connect");
		if (!json_is_string(v) ||
		    rp_guid_parse(json_string_value(v), json_string_length(v), r->target))
			rc = rp_err_set(e, RP_EINVAL, "connect: not a GUID "
					"(8-4-4-4-12 hex digits)");
		break;
	case RP_APPREQ_OPEN:
		rc = decode_open(o, r, e);
		break;
	case RP_APPREQ_SYSEVENT:
		rc = decode_sysevent(o, r, e);
		break;
	case RP_APPREQ_POWER:
		rc = decode_power(o, r, e);
		break;
	case RP_APPREQ_DEVICEAUTH:
		rc = decode_word(o, "deviceauth", "status", e);
		break;
	case RP_APPREQ_STORAGE:
		rc = decode_word(o, "storage", "quota", e);
		break;
	}
out:
	json_decref(o);
	if (rc) {
		/* Whatever went wrong, the app is told EINVAL. */
		e->code = rc = RP_EINVAL;
		rp_err_prefix(e, "app request");
		memset(r, 0, sizeof(*r));
	}
	return rc;
}

int rp_appreq_reply_encode(json_t *o, char *out, size_t cap, size_t *len,
			   struct rp_err *e)
{
	char *text;
	size_t n;

	*len = 0;
	if (!o)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	n = strlen(text);
	if (n + 2 > cap || n + 1 > RP_CTL_CHAN_MAX) {
		free(text);
		return rp_err_set(e, RP_ERANGE, "reply is over %d bytes", RP_CTL_CHAN_MAX);
	}
	memcpy(out, text, n);
	out[n++] = '\n';
	out[n] = '\0';
	*len = n;
	free(text);
	return 0;
}

static json_t *encode_json(const struct rp_appreq *r)
{
	json_t *o = json_object(), *arr;
	char t[37];
	size_t i;
	int ok = o != NULL;

	if (!ok)
		return NULL;
	switch (r->kind) {
	case RP_APPREQ_CONNECT:
		rp_guid_format(r->target, t);
		ok &= !json_object_set_new(o, "connect", json_string(t));
		break;
	case RP_APPREQ_OPEN:
		ok &= !json_object_set_new(o, "open", json_string(rp_appreq_periph_name(r->periph)));
		ok &= !json_object_set_new(o, "id", json_integer(r->id));
		if (r->periph == RP_PERIPH_SPI && r->has_cs)
			ok &= !json_object_set_new(o, "chip_select", json_integer(r->chip_select));
		if (r->periph != RP_PERIPH_GPIO)
			break;
		ok &= !json_object_set_new(o, "direction",
					   json_string(r->output ? "output" : "input"));
		if (r->output) {
			ok &= !json_object_set_new(o, "output_mode",
						   json_string(drive_names[r->drive]));
			ok &= !json_object_set_new(o, "value", json_integer(r->value));
		}
		break;
	case RP_APPREQ_SYSEVENT:
		ok &= !json_object_set_new(o, "sysevent", json_string(sysev_names[r->sysev]));
		if (r->sysev == RP_SYSEV_REGISTER) {
			arr = json_array();
			for (i = 0; arr && i < N(event_names); i++)
				if (r->events & (1u << i))
					ok &= !json_array_append_new(arr, json_string(event_names[i]));
			ok &= !json_object_set_new(o, "events", arr);
		} else if (r->sysev != RP_SYSEV_UNREGISTER) {
			ok &= !json_object_set_new(o, "event",
						   json_string(rp_appreq_event_name(r->events)));
		}
		if (r->sysev == RP_SYSEV_DEFER)
			ok &= !json_object_set_new(o, "minutes", json_integer(r->minutes));
		break;
	case RP_APPREQ_POWER:
		ok &= !json_object_set_new(o, "power", json_string(power_names[r->power]));
		if (r->power == RP_POWER_PROFILE)
			ok &= !json_object_set_new(o, "profile",
						   json_string(profile_names[r->profile]));
		break;
	case RP_APPREQ_DEVICEAUTH:
		ok &= !json_object_set_new(o, "deviceauth", json_string("status"));
		break;
	case RP_APPREQ_STORAGE:
		ok &= !json_object_set_new(o, "storage", json_string("quota"));
		break;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int valid(const struct rp_appreq *r)
{
	switch (r->kind) {
	case RP_APPREQ_CONNECT:
	case RP_APPREQ_DEVICEAUTH:
	case RP_APPREQ_STORAGE:
		return 1;
	case RP_APPREQ_OPEN:
		return rp_appreq_periph_name(r->periph) && r->id <= RP_APPREQ_ID_MAX &&
		       (unsigned)r->drive < N(drive_names) && (r->value == 0 || r->value == 1) &&
		       r->chip_select <= RP_APPREQ_CS_MAX;
	case RP_APPREQ_SYSEVENT:
		if (r->sysev == RP_SYSEV_REGISTER)
			return r->events && !(r->events & ~RP_EV_ALL);
		if (r->sysev == RP_SYSEV_UNREGISTER)
			return 1;
		if (r->events != RP_EV_UPDATE_READY)
			return 0;
		return r->sysev == RP_SYSEV_RESUME ||
		       (r->sysev == RP_SYSEV_DEFER && r->minutes >= 1 &&
			r->minutes <= RP_DEFER_MINUTES_MAX);
	case RP_APPREQ_POWER:
		return rp_appreq_power_name(r->power) &&
		       (r->power != RP_POWER_PROFILE || rp_appreq_profile_name(r->profile));
	}
	return 0;
}

int rp_appreq_encode(const struct rp_appreq *r, char *out, size_t cap,
		     size_t *len, struct rp_err *e)
{
	*len = 0;
	if (!valid(r))
		return rp_err_set(e, RP_EUSAGE, "app request: not a valid request");
	return rp_appreq_reply_encode(encode_json(r), out, cap, len, e);
}
