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

/* The JSON type name for messages: "object", "array", "string", ... */
const char *rp_json_type_name(const json_t *v);

#endif
