#include "base/json.h"

#include <string.h>

int rp_json_parse(const uint8_t *buf, size_t len, size_t cap, json_t **out,
		  struct rp_err *e)
{
	json_error_t jerr;
	json_t *v;

	if (len > cap)
		return rp_err_set(e, RP_ERANGE, "%zu bytes is over the limit of %zu",
				  len, cap);
	if (len > 0 && memchr(buf, '\0', len))
		return rp_err_set(e, RP_EFORMAT, "text contains a NUL byte");
	v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return rp_err_set(e, RP_EFORMAT, "line %d, column %d: %s",
				  jerr.line, jerr.column, jerr.text);
	*out = v;
	return 0;
}

int rp_json_only_keys(json_t *obj, const char *const *allowed,
		      const char *path, struct rp_err *e)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		const char *const *a;
		int known = 0;

		(void)val;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0) {
				known = 1;
				break;
			}
		if (!known)
			return rp_err_set(e, RP_EFORMAT, "%s%s%s: unknown key",
					  path, *path ? "." : "", key);
	}
	return 0;
}

const char *rp_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}
