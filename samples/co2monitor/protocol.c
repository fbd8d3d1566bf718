/* See protocol.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "protocol.h"
#include "scd30.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* An integer in min..max, or -1 with err set. */
static int get_uint(json_t *v, const char *key, json_int_t min, json_int_t max,
		    json_int_t *out, char *err, size_t errlen)
{
	json_int_t n;

	if (!json_is_integer(v))
		return fail(err, errlen, "%s: expected an integer", key);
	n = json_integer_value(v);
	if (n < min || n > max)
		return fail(err, errlen, "%s: must be %lld..%lld, got %lld", key, (long long)min,
			    (long long)max, (long long)n);
	*out = n;
	return 0;
}

static json_t *load(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	if (len > CO2_MSG_MAX) {
		fail(err, errlen, "longer than %d bytes", CO2_MSG_MAX);
		return NULL;
	}
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		fail(err, errlen, "not JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(err, errlen, "not a JSON object");
		return NULL;
	}
	return root;
}

const char *co2_command_name(enum co2_command_kind kind)
{
	switch (kind) {
	case CO2_CMD_SET_THRESHOLD: return "set_threshold";
	case CO2_CMD_SET_INTERVAL: return "set_interval";
	case CO2_CMD_MEASURE_NOW: return "measure_now";
	case CO2_CMD_STATUS: return "status";
	}
	return "?";
}

int co2_command_parse(const uint8_t *buf, size_t len, struct co2_command *c, char *err,
		      size_t errlen)
{
	struct co2_command r = { .kind = CO2_CMD_STATUS, .value = 0, .id = -1 };
	const char *name;
	json_t *root, *v;
	json_int_t n;
	int rc = -1;
	size_t want = 1; /* keys the command takes, "cmd" included */

	root = load(buf, len, err, errlen);
	if (!root)
		return -1;
	v = json_object_get(root, "cmd");
	if (!json_is_string(v)) {
		fail(err, errlen, "cmd: expected a string");
		goto out;
	}
	name = json_string_value(v);
	if (strcmp(name, "set_threshold") == 0) {
		r.kind = CO2_CMD_SET_THRESHOLD;
		if (get_uint(json_object_get(root, "ppm"), "ppm", CO2_THRESHOLD_MIN,
			     CO2_THRESHOLD_MAX, &n, err, errlen))
			goto out;
		r.value = (unsigned int)n;
		want++;
	} else if (strcmp(name, "set_interval") == 0) {
		r.kind = CO2_CMD_SET_INTERVAL;
		if (get_uint(json_object_get(root, "s"), "s", SCD30_INTERVAL_MIN,
			     SCD30_INTERVAL_MAX, &n, err, errlen))
			goto out;
		r.value = (unsigned int)n;
		want++;
	} else if (strcmp(name, "measure_now") == 0) {
		r.kind = CO2_CMD_MEASURE_NOW;
	} else if (strcmp(name, "status") == 0) {
		r.kind = CO2_CMD_STATUS;
	} else {
		/* The name is not echoed: it is the partner's bytes. */
		fail(err, errlen, "cmd: unknown command");
		goto out;
	}
	v = json_object_get(root, "id");
	if (v) {
		if (get_uint(v, "id", 0, 0x7FFFFFFF, &n, err, errlen))
			goto out;
		r.id = n;
		want++;
	}
	/* Every key was consumed above: any other is refused. */
	if (json_object_size(root) != want) {
		fail(err, errlen, "%s: unexpected key", co2_command_name(r.kind));
		goto out;
	}
	*c = r;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int co2_settings_parse(const uint8_t *buf, size_t len, struct co2_settings *s, char *err,
		       size_t errlen)
{
	struct co2_settings r;
	json_t *root;
	json_int_t n;
	int rc = -1;

	root = load(buf, len, err, errlen);
	if (!root)
		return -1;
	if (json_object_size(root) != 3) {
		fail(err, errlen, "expected exactly threshold_ppm, interval_s and seq");
		goto out;
	}
	if (get_uint(json_object_get(root, "threshold_ppm"), "threshold_ppm", CO2_THRESHOLD_MIN,
		     CO2_THRESHOLD_MAX, &n, err, errlen))
		goto out;
	r.threshold_ppm = (unsigned int)n;
	if (get_uint(json_object_get(root, "interval_s"), "interval_s", SCD30_INTERVAL_MIN,
		     SCD30_INTERVAL_MAX, &n, err, errlen))
		goto out;
	r.interval_s = (unsigned int)n;
	/* JSON integers are exact up to 2^53 in every reader. */
	if (get_uint(json_object_get(root, "seq"), "seq", 0, (json_int_t)1 << 53, &n, err,
		     errlen))
		goto out;
	r.seq = (unsigned long long)n;
	*s = r;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int co2_settings_format(const struct co2_settings *s, char *out, size_t cap)
{
	int n = snprintf(out, cap, "{\"threshold_ppm\":%u,\"interval_s\":%u,\"seq\":%llu}",
			 s->threshold_ppm, s->interval_s, s->seq);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
