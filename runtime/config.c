/* rampartd's configuration file: strict JSON, every key optional. */
#include <grp.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"
#include "rampartd.h"

#define CONFIG_MAX (64 * 1024)

void rpd_config_init(struct rpd_config *c)
{
	memset(c, 0, sizeof(*c));
	rp_sandbox_defaults_init(&c->defaults);
	c->backoff_initial_ms = 1000;
	c->backoff_max_ms = 300000;
	c->backoff_reset_ms = 60000;
	c->stop_grace_ms = 5000;
	c->uid_base = 200000;
	c->uid_count = 10000;
	c->max_package_bytes = UINT64_C(64) << 20;
	c->log_bytes = RP_LOGRING_CAP_DEFAULT;
	c->report_slots = RP_REPORTS_SLOTS_DEFAULT;
	memcpy(c->cgroup_parent, "rampart", sizeof("rampart"));
	c->verify_timeout_ms = 60000;
	c->cloud_timeout_ms = 120000;
	c->checkin_interval_s = 3600;
	c->checkin_jitter_pct = 10;
	c->update_notice_ms = 1000;
}

static int get_u64(json_t *o, const char *key, uint64_t min, uint64_t max,
		   uint64_t *out, struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return rp_err_set(e, RP_EFORMAT, "%s: must be an integer from %llu to %llu",
				  key, (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_str(json_t *o, const char *key, char *out, size_t cap,
		   struct rp_err *e)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return rp_err_set(e, RP_EFORMAT, "%s: must be a string", key);
	n = json_string_length(v);
	if (n == 0 || n >= cap || memchr(json_string_value(v), '\0', n))
		return rp_err_set(e, RP_EFORMAT, "%s: must be 1 to %zu bytes", key,
				  cap - 1);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int load_defaults(json_t *o, struct rp_sandbox_defaults *d,
			 struct rp_err *e)
{
	static const char *const keys[] = {
		"memory_kb", "max_pids", "tmp_kb", "max_files", "cpu_weight", NULL,
	};
	int rc;

	if (!json_is_object(o))
		return rp_err_set(e, RP_EFORMAT, "defaults: must be an object");
	if ((rc = rp_json_only_keys(o, keys, "defaults", e)) ||
	    (rc = get_u64(o, "memory_kb", 1024, UINT64_C(16777216), &d->memory_kb, e)) ||
	    (rc = get_u64(o, "max_pids", 1, 4096, &d->max_pids, e)) ||
	    (rc = get_u64(o, "tmp_kb", 4, 1048576, &d->tmp_kb, e)) ||
	    (rc = get_u64(o, "max_files", 16, 65536, &d->max_files, e)) ||
	    (rc = get_u64(o, "cpu_weight", 1, 10000, &d->cpu_weight, e)))
		return rc;
	return 0;
}

static int load_backoff(json_t *o, struct rpd_config *c, struct rp_err *e)
{
	static const char *const keys[] = {
		"initial_ms", "max_ms", "reset_after_ms", NULL,
	};
	int rc;

	if (!json_is_object(o))
		return rp_err_set(e, RP_EFORMAT, "restart_backoff: must be an object");
	if ((rc = rp_json_only_keys(o, keys, "restart_backoff", e)) ||
	    (rc = get_u64(o, "initial_ms", 10, 3600000, &c->backoff_initial_ms, e)) ||
	    (rc = get_u64(o, "max_ms", 10, 86400000, &c->backoff_max_ms, e)) ||
	    (rc = get_u64(o, "reset_after_ms", 10, 86400000, &c->backoff_reset_ms, e)))
		return rc;
	if (c->backoff_max_ms < c->backoff_initial_ms)
		return rp_err_set(e, RP_EFORMAT,
				  "restart_backoff: max_ms is below initial_ms");
	return 0;
}

/* The keys of peripherals and system events (docs/runtime.md). */
static int load_periph(json_t *o, struct rpd_config *c, struct rp_err *e)
{
	json_t *v;
	int rc;

	if ((rc = get_str(o, "board", c->board, sizeof(c->board), e)) ||
	    (rc = get_str(o, "board_root", c->board_root, sizeof(c->board_root), e)) ||
	    (rc = get_u64(o, "update_notice_ms", 0, 60000, &c->update_notice_ms, e)))
		return rc;
	if (c->board[0] && c->board[0] != '/')
		return rp_err_set(e, RP_EFORMAT, "board: must be an absolute path");
	if (c->board_root[0] && (c->board_root[0] != '/' ||
				 strcmp(c->board_root, "/") == 0))
		return rp_err_set(e, RP_EFORMAT, "board_root: must be an absolute "
				  "path other than /");
	if ((v = json_object_get(o, "power_actions"))) {
		if (!json_is_boolean(v))
			return rp_err_set(e, RP_EFORMAT, "power_actions: must be a boolean");
		c->power_actions = json_is_true(v);
	}
	return 0;
}

int rpd_config_load(struct rpd_config *c, const char *path, struct rp_err *e)
{
	static const char *const keys[] = {
		"socket_group", "production_trust_dir", "defaults",
		"restart_backoff", "stop_grace_ms", "uid_base", "uid_count",
		"max_package_kb", "log_kb", "report_slots", "cgroup_parent",
		"verify_helper", "verify_timeout_ms",
		"cloud_helper", "cloud_timeout_ms", "checkin_interval_s",
		"checkin_jitter_pct",
		"board", "board_root", "power_actions", "update_notice_ms", NULL,
	};
	struct rp_buf text;
	json_t *o = NULL, *v;
	uint64_t n;
	int rc;

	rp_buf_init(&text, 0);
	if ((rc = rp_file_read(path, CONFIG_MAX, &text, e)) ||
	    (rc = rp_json_parse(text.data, text.len, CONFIG_MAX, &o, e)))
		goto out;
	if (!json_is_object(o)) {
		rc = rp_err_set(e, RP_EFORMAT, "must be a JSON object");
		goto out;
	}
	if ((rc = rp_json_only_keys(o, keys, "", e)) ||
	    (rc = get_str(o, "socket_group", c->socket_group,
			  sizeof(c->socket_group), e)) ||
	    (rc = get_str(o, "production_trust_dir", c->production_trust_dir,
			  sizeof(c->production_trust_dir), e)) ||
	    (rc = get_str(o, "cgroup_parent", c->cgroup_parent,
			  sizeof(c->cgroup_parent), e)) ||
	    (rc = get_str(o, "verify_helper", c->verify_helper,
			  sizeof(c->verify_helper), e)) ||
	    (rc = get_u64(o, "verify_timeout_ms", 1000, 600000,
			  &c->verify_timeout_ms, e)) ||
	    (rc = get_u64(o, "stop_grace_ms", 0, 600000, &c->stop_grace_ms, e)))
		goto out;
	if ((rc = get_str(o, "cloud_helper", c->cloud_helper,
			  sizeof(c->cloud_helper), e)) ||
	    (rc = get_u64(o, "cloud_timeout_ms", 1000, 600000,
			  &c->cloud_timeout_ms, e)) ||
	    (rc = get_u64(o, "checkin_interval_s", 1, 604800,
			  &c->checkin_interval_s, e)) ||
	    (rc = get_u64(o, "checkin_jitter_pct", 0, 50,
			  &c->checkin_jitter_pct, e)))
		goto out;
	if (c->cloud_helper[0] && c->cloud_helper[0] != '/') {
		rc = rp_err_set(e, RP_EFORMAT, "cloud_helper: must be an absolute path");
		goto out;
	}
	if ((rc = load_periph(o, c, e)))
		goto out;
	if (c->verify_helper[0] && c->verify_helper[0] != '/') {
		rc = rp_err_set(e, RP_EFORMAT, "verify_helper: must be an absolute path");
		goto out;
	}
	if (strchr(c->cgroup_parent, '/') || strcmp(c->cgroup_parent, ".") == 0 ||
	    strcmp(c->cgroup_parent, "..") == 0) {
		rc = rp_err_set(e, RP_EFORMAT, "cgroup_parent: must be one path component");
		goto out;
	}
	if ((v = json_object_get(o, "defaults")) &&
	    (rc = load_defaults(v, &c->defaults, e)))
		goto out;
	if ((v = json_object_get(o, "restart_backoff")) &&
	    (rc = load_backoff(v, c, e)))
		goto out;
	n = c->uid_base;
	if ((rc = get_u64(o, "uid_base", 1000, UINT32_MAX - 65536, &n, e)))
		goto out;
	c->uid_base = (uint32_t)n;
	n = c->uid_count;
	if ((rc = get_u64(o, "uid_count", 1, 65536, &n, e)))
		goto out;
	c->uid_count = (uint32_t)n;
	n = c->max_package_bytes >> 10;
	if ((rc = get_u64(o, "max_package_kb", 64, UINT64_C(4) << 20, &n, e)))
		goto out;
	c->max_package_bytes = n << 10;
	n = c->log_bytes >> 10;
	if ((rc = get_u64(o, "log_kb", 1, RP_LOGRING_CAP_MAX >> 10, &n, e)))
		goto out;
	c->log_bytes = n << 10;
	n = c->report_slots;
	if ((rc = get_u64(o, "report_slots", 16, RP_REPORTS_SLOTS_MAX, &n, e)))
		goto out;
	c->report_slots = (uint32_t)n;
	if (c->socket_group[0]) {
		struct group gr, *res = NULL;
		char buf[4096];

		if (getgrnam_r(c->socket_group, &gr, buf, sizeof(buf), &res) != 0 ||
		    !res) {
			rc = rp_err_set(e, RP_EFORMAT, "socket_group: no group '%s'",
					c->socket_group);
			goto out;
		}
		c->socket_gid = res->gr_gid;
	}
out:
	json_decref(o);
	rp_buf_free(&text);
	if (rc)
		rp_err_prefix(e, "config %s", path);
	return rc;
}
