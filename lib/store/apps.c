#include "store/apps.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

int rp_app_state_decode(const uint8_t *buf, size_t len, struct rp_app_state *st,
			struct rp_err *e)
{
	static const char *const keys[] = { "uid", "enabled", NULL };
	json_t *o = NULL, *uid, *en;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = rp_json_parse(buf, len, RP_APP_STATE_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "must be an object");
		goto out;
	}
	if ((rc = rp_json_only_keys(o, keys, "", e)))
		goto out;
	uid = json_object_get(o, "uid");
	en = json_object_get(o, "enabled");
	if (!json_is_integer(uid) || json_integer_value(uid) < 1 ||
	    json_integer_value(uid) > (json_int_t)UINT32_MAX - 1) {
		rc = rp_err_set(e, RP_EFORMAT, "uid: must be an integer from 1 to %u",
				UINT32_MAX - 1);
		goto out;
	}
	if (!json_is_boolean(en)) {
		rc = rp_err_set(e, RP_EFORMAT, "enabled: must be a boolean");
		goto out;
	}
	st->uid = (uint32_t)json_integer_value(uid);
	st->enabled = json_is_true(en);
out:
	json_decref(o);
	if (rc)
		rp_err_prefix(e, "app state");
	return rc;
}

int rp_app_state_encode(const struct rp_app_state *st, struct rp_buf *out,
			struct rp_err *e)
{
	rp_buf_init(out, RP_APP_STATE_MAX);
	if (rp_buf_printf(out, "{\"uid\":%u,\"enabled\":%s}\n", st->uid,
			  st->enabled ? "true" : "false"))
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	return 0;
}

int rp_uid_alloc(const uint32_t *used, size_t n, uint32_t base, uint32_t count,
		 uint32_t *out, struct rp_err *e)
{
	uint32_t i;
	size_t j;

	if (count == 0 || base > UINT32_MAX - count)
		return rp_err_set(e, RP_ERANGE, "uid range is empty or wraps");
	for (i = 0; i < count; i++) {
		for (j = 0; j < n; j++)
			if (used[j] == base + i)
				break;
		if (j == n) {
			*out = base + i;
			return 0;
		}
	}
	return rp_err_set(e, RP_ERANGE, "no free uid in %u..%u", base,
			  base + count - 1);
}
