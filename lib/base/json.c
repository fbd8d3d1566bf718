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

int rp_json_type_err(struct rp_err *e, const char *path, const char *want,
		     const json_t *v)
{
	return rp_err_set(e, RP_EFORMAT, "%s: expected %s, got %s", path, want,
			  rp_json_type_name(v));
}

int rp_json_text(json_t *v, const char *path, size_t max, unsigned flags,
		 const char **out, struct rp_err *e)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v))
		return rp_json_type_err(e, path, "a string", v);
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return rp_err_set(e, RP_EFORMAT, "%s: contains a NUL character",
				  path);
	if (len == 0 && !(flags & RP_JSON_EMPTY_OK))
		return rp_err_set(e, RP_EFORMAT, "%s: must not be empty", path);
	if (len > max)
		return rp_err_set(e, RP_ERANGE, "%s: %zu bytes, at most %zu",
				  path, len, max);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t' && (flags & RP_JSON_TAB_OK))
			continue;
		if (c < 0x20 || c == 0x7f)
			return rp_err_set(e, RP_EFORMAT,
					  "%s: contains a control character",
					  path);
	}
	*out = s;
	return 0;
}

int rp_json_int(json_t *v, const char *path, long long min, long long max,
		long long *out, struct rp_err *e)
{
	json_int_t n;

	if (!json_is_integer(v))
		return rp_json_type_err(e, path, "an integer", v);
	n = json_integer_value(v);
	if (n < min || n > max)
		return rp_err_set(e, RP_ERANGE, "%s: must be %lld..%lld, got %lld",
				  path, min, max, (long long)n);
	*out = (long long)n;
	return 0;
}

int rp_json_uint(json_t *v, const char *path, uint64_t min, uint64_t max,
		 uint64_t *out, struct rp_err *e)
{
	json_int_t n;

	if (!json_is_integer(v))
		return rp_json_type_err(e, path, "an integer", v);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return rp_err_set(e, RP_ERANGE, "%s: must be %llu..%llu, got %lld",
				  path, (unsigned long long)min,
				  (unsigned long long)max, (long long)n);
	*out = (uint64_t)n;
	return 0;
}
