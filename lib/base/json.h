/* Strict JSON on top of jansson, shared by every JSON format we read
 * (app manifests, hardware definitions). */
#ifndef RP_BASE_JSON_H
#define RP_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Parse exactly len bytes (at most cap) as one JSON value. Duplicate keys,
 * trailing bytes and embedded NULs are refused; the error names the line
 * and column. *out is owned by the caller (json_decref). */
int rp_json_parse(const uint8_t *buf, size_t len, size_t cap, json_t **out,
		  struct rp_err *e) RP_WUR;

/* Refuse any key of obj that is not in allowed (a NULL-terminated list).
 * path names obj in the error ("Capabilities"; "" for the top level), and
 * the message reads `<path>.<key>: unknown key`. */
int rp_json_only_keys(json_t *obj, const char *const *allowed,
		      const char *path, struct rp_err *e) RP_WUR;

/* The JSON type name for messages: "an object", "an array", ... */
const char *rp_json_type_name(const json_t *v);

/* Typed getters shared by the JSON formats. path names the value in
 * messages, which read "<path>: expected an integer, got a string",
 * "<path>: must be 1..65535, got 0", "<path>: contains a control
 * character", and so on. */
int rp_json_type_err(struct rp_err *e, const char *path, const char *want,
		     const json_t *v);

#define RP_JSON_EMPTY_OK 1u /* accept "" */
#define RP_JSON_TAB_OK 2u   /* accept tab among the control characters */
/* A string of at most max bytes with no NUL and no control character;
 * *out points into v. */
int rp_json_text(json_t *v, const char *path, size_t max, unsigned flags,
		 const char **out, struct rp_err *e) RP_WUR;
/* An integer within [min, max]. */
int rp_json_int(json_t *v, const char *path, long long min, long long max,
		long long *out, struct rp_err *e) RP_WUR;
int rp_json_uint(json_t *v, const char *path, uint64_t min, uint64_t max,
		 uint64_t *out, struct rp_err *e) RP_WUR;

#endif
