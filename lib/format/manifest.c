/* Azure Sphere app manifests, validated strictly.
 *
 * The document is parsed once with jansson, every known key is checked for
 * type and range, and anything unknown is refused. The validated tree is
 * kept as it was read so that serialisation reproduces the author's
 * intent; a few fields are copied out into struct rp_manifest for callers.
 * Every message starts with the field path ("Capabilities.Gpio[1]: ...")
 * so a developer can find the line to fix. */
#include "format/manifest.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/num.h"
#include "format/board.h"

#define PATH_MAX_LEN 160      /* field paths in messages */
#define SHOW_MAX RP_SHOW_MAX
#define ENTRY_POINT_MAX 255
#define CMDARGS_TOTAL_MAX (16 * 1024)
#define HOST_MAX 253
#define LABEL_MAX 63
#define IDENT_MAX 64          /* "ISU0", "PWM-CONTROLLER-0", "$NAME" */
#define GPIO_MAX 4095

static const char *const top_keys[] = {
	"SchemaVersion", "Name", "ComponentId", "EntryPoint", "CmdArgs",
	"ApplicationType", "Capabilities", "TargetApplicationRuntimeVersion",
	"TargetBetaApis", "MallocVersion", "Rampart", NULL,
};

static const char *const bool_caps[] = {
	"CertStore", "WifiConfig", "EnterpriseWifiConfig", "NetworkConfig",
	"ReadNetworkProxyConfig", "HardwareAddressConfig", "DhcpService",
	"SntpService", "SystemEventNotifications", "SoftwareUpdateDeferral",
	"SystemTime", "TimeSyncConfig", "HeapMemStats", NULL,
};

/* Capabilities naming hardware. `ints`: integers allowed; `idents`: plain
 * strings such as "ISU0" allowed; `refs`: "$NAME" board references
 * allowed. The key is also the hardware-definition Type it must match. */
struct periph_cap {
	const char *key;
	int ints;
	int idents;
	int refs;
};

static const struct periph_cap periph_caps[] = {
	{ "Gpio", 1, 0, 1 },
	{ "I2cMaster", 0, 1, 1 },
	{ "SpiMaster", 0, 1, 1 },
	{ "Uart", 0, 1, 1 },
	{ "Pwm", 0, 1, 1 },
	{ "Adc", 0, 1, 1 },
	{ "I2sSubordinate", 0, 1, 0 },
	{ "ExternalInterrupt", 0, 1, 0 },
};

#define N_PERIPH_CAPS (sizeof(periph_caps) / sizeof(periph_caps[0]))

static const char *const power_controls[] = {
	"ForcePowerDown", "ForceReboot", "SetPowerProfile", NULL,
};

struct limit_key {
	const char *key;
	uint64_t min;
	uint64_t max;
	size_t off;
};

static const struct limit_key limit_keys[] = {
	{ "MemoryLimitKB", 1024, 16777216,
	  offsetof(struct rp_manifest_limits, memory_limit_kb) },
	{ "MaxProcesses", 1, 4096,
	  offsetof(struct rp_manifest_limits, max_processes) },
	{ "TmpSizeKB", 4, 1048576,
	  offsetof(struct rp_manifest_limits, tmp_size_kb) },
	{ "MaxOpenFiles", 16, 65536,
	  offsetof(struct rp_manifest_limits, max_open_files) },
	{ "CpuWeight", 1, 10000,
	  offsetof(struct rp_manifest_limits, cpu_weight) },
};

#define N_LIMIT_KEYS (sizeof(limit_keys) / sizeof(limit_keys[0]))

/* Field paths for messages; truncation is harmless (advisory text). */
static void pathf(char *out, const char *fmt, ...) RP_PRINTF(2, 3);

static void pathf(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, PATH_MAX_LEN, fmt, ap);
	va_end(ap);
}

static void join(char *out, const char *path, const char *key)
{
	pathf(out, "%s%s%s", path, *path ? "." : "", key);
}

static void index_path(char *out, const char *path, size_t i)
{
	pathf(out, "%s[%zu]", path, i);
}

static int is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static unsigned hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return (unsigned)(c - 'A' + 10);
}

int rp_guid_parse(const char *s, size_t len, uint8_t out[16])
{
	uint8_t g[16];
	size_t i, n = 0;

	if (!s || len != 36)
		return RP_EINVAL;
	for (i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return RP_EINVAL;
			i++;
			continue;
		}
		if (!is_hex(s[i]) || !is_hex(s[i + 1]))
			return RP_EINVAL;
		g[n++] = (uint8_t)(hexval(s[i]) << 4 | hexval(s[i + 1]));
		i += 2;
	}
	memcpy(out, g, 16);
	return 0;
}

void rp_guid_format(const uint8_t g[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[g[i] >> 4];
		out[o++] = hex[g[i] & 15];
	}
	out[o] = '\0';
}

static int get_array(json_t *v, const char *path, size_t *n,
		     struct rp_err *e)
{
	if (!json_is_array(v))
		return rp_json_type_err(e, path, "an array", v);
	*n = json_array_size(v);
	if (*n > RP_MANIFEST_ARRAY_MAX)
		return rp_err_set(e, RP_ERANGE, "%s: %zu entries, at most %d",
				  path, *n, RP_MANIFEST_ARRAY_MAX);
	return 0;
}

static int is_ident_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* "$NAME": a C identifier after the dollar, as hardware definitions use. */
static int is_ref(const char *s)
{
	size_t i;

	if (s[0] != '$' || !s[1] || (s[1] >= '0' && s[1] <= '9'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!is_ident_char(s[i]))
			return 0;
	return i <= IDENT_MAX;
}

/* A controller name such as "ISU0", "ADC0" or "PWM-CONTROLLER-0". */
static int is_controller(const char *s)
{
	size_t i;

	if (!s[0])
		return 0;
	for (i = 0; s[i]; i++)
		if (!is_ident_char(s[i]) && s[i] != '-')
			return 0;
	return i <= IDENT_MAX;
}

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 1123 host name: dot-separated labels of 1..63 letters, digits and
 * inner hyphens, at most 253 bytes, not all-numeric at the end (that would
 * be an address). A leading "*." wildcard label is allowed. */
static int is_host(const char *s, size_t len)
{
	size_t i, label = 0;
	int last_alpha = 0;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
		if (!memchr(s, '.', len))
			return 0; /* "*.com" would match too much */
	}
	if (len == 0 || len > HOST_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > LABEL_MAX || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (label == 0) {
			if (!is_alnum(s[i]))
				return 0;
			last_alpha = 0;
		} else if (!is_alnum(s[i]) && s[i] != '-') {
			return 0;
		}
		if (!(s[i] >= '0' && s[i] <= '9'))
			last_alpha = 1;
		label++;
	}
	return last_alpha;
}

/* Dotted-quad IPv4, each part 0..255 without leading zeros. */
static int is_ipv4(const char *s, size_t len)
{
	size_t i, start = 0, parts = 0;
	uint64_t v;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (rp_parse_u64(s + start, i - start, 255, &v))
			return 0;
		parts++;
		start = i + 1;
	}
	return parts == 4;
}

static int is_ipv6(const char *s, size_t len)
{
	char buf[64];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* host | IPv4 | [IPv6], each optionally followed by ":port". */
static int check_connection(const char *s, const char *path, struct rp_err *e)
{
	char sh[SHOW_MAX + 4];
	const char *host = s, *port = NULL, *colon;
	size_t len = strlen(s), hlen;
	uint64_t p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || !is_ipv6(s + 1, (size_t)(close - s - 1)))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not a bracketed IPv6 address",
					  path, rp_show(s, sh));
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" has text after the address",
					  path, rp_show(s, sh));
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\": IPv6 addresses go in brackets",
					  path, rp_show(s, sh));
		hlen = colon ? (size_t)(colon - s) : len;
		if (colon)
			port = colon + 1;
		if (!is_host(host, hlen) && !is_ipv4(host, hlen))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not a host name",
					  path, rp_show(s, sh));
	}
	if (port && (rp_parse_u64z(port, 65535, &p) || p == 0))
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" has a bad port (1..65535)", path,
				  rp_show(s, sh));
	return 0;
}

static int dup_string(const json_t *arr, size_t i, int nocase, size_t *at)
{
	const char *s = json_string_value(json_array_get(arr, i));
	size_t j;

	for (j = 0; j < i; j++) {
		const char *t = json_string_value(json_array_get(arr, j));

		if (t && (nocase ? strcasecmp(s, t) : strcmp(s, t)) == 0) {
			*at = j;
			return 1;
		}
	}
	return 0;
}

static int dup_value(const json_t *arr, size_t i, size_t *at)
{
	const json_t *v = json_array_get(arr, i);
	size_t j;

	for (j = 0; j < i; j++)
		if (json_equal(v, json_array_get(arr, j))) {
			*at = j;
			return 1;
		}
	return 0;
}

static int dup_err(struct rp_err *e, const char *path, const json_t *v,
		   size_t at)
{
	char sh[SHOW_MAX + 4];

	if (json_is_integer(v))
		return rp_err_set(e, RP_EFORMAT,
				  "%s: %lld is listed twice (also at [%zu])", path,
				  (long long)json_integer_value(v), at);
	return rp_err_set(e, RP_EFORMAT,
			  "%s: \"%s\" is listed twice (also at [%zu])", path,
			  rp_show(json_string_value(v), sh), at);
}

static int check_connections(json_t *v, const char *path,
			     struct rp_err *e)
{
	char ip[PATH_MAX_LEN];
	const char *s;
	size_t n, i, at;
	int rc;

	if ((rc = get_array(v, path, &n, e)))
		return rc;
	for (i = 0; i < n; i++) {
		index_path(ip, path, i);
		if ((rc = rp_json_text(json_array_get(v, i), ip, HOST_MAX + 2 + 8,
				       0, &s, e)) ||
		    (rc = check_connection(s, ip, e)))
			return rc;
		if (dup_string(v, i, 1, &at))
			return dup_err(e, ip, json_array_get(v, i), at);
	}
	return 0;
}

static int check_ports(json_t *v, const char *path, struct rp_err *e)
{
	char ip[PATH_MAX_LEN];
	size_t n, i, at;
	uint64_t p;
	int rc;

	if ((rc = get_array(v, path, &n, e)))
		return rc;
	for (i = 0; i < n; i++) {
		index_path(ip, path, i);
		if ((rc = rp_json_uint(json_array_get(v, i), ip, 1, 65535, &p, e)))
			return rc;
		if (dup_value(v, i, &at))
			return dup_err(e, ip, json_array_get(v, i), at);
	}
	return 0;
}

static int check_guid(json_t *v, const char *path, uint8_t out[16],
		      struct rp_err *e)
{
	char sh[SHOW_MAX + 4];
	const char *s;
	int rc;

	if ((rc = rp_json_text(v, path, 64, 0, &s, e)))
		return rc;
	if (rp_guid_parse(s, strlen(s), out))
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" is not a GUID (8-4-4-4-12 hex digits)",
				  path, rp_show(s, sh));
	return 0;
}

static int check_guids(json_t *v, const char *path, struct rp_err *e)
{
	char ip[PATH_MAX_LEN];
	uint8_t g[16];
	size_t n, i, j;
	int rc;

	if ((rc = get_array(v, path, &n, e)))
		return rc;
	for (i = 0; i < n; i++) {
		index_path(ip, path, i);
		if ((rc = check_guid(json_array_get(v, i), ip, g, e)))
			return rc;
		for (j = 0; j < i; j++) {
			uint8_t h[16];

			if (rp_guid_parse(json_string_value(json_array_get(v, j)),
					  36, h) == 0 && memcmp(g, h, 16) == 0)
				return dup_err(e, ip, json_array_get(v, i), j);
		}
	}
	return 0;
}

/* One entry of a hardware capability. Sets *ref when it is "$NAME". */
static int check_periph_value(const struct periph_cap *pc, json_t *v,
			      const char *path, int *ref, struct rp_err *e)
{
	char sh[SHOW_MAX + 4];
	const char *s;
	uint64_t n;
	int rc;

	*ref = 0;
	if (json_is_integer(v) && pc->ints)
		return rp_json_uint(v, path, 0, GPIO_MAX, &n, e);
	if (!json_is_string(v)) {
		if (pc->ints)
			return rp_json_type_err(e, path,
					"an integer or a \"$NAME\" string", v);
		return rp_json_type_err(e, path, pc->refs ?
				"a string such as \"ISU0\" or \"$NAME\"" :
				"a string such as \"ISU0\"", v);
	}
	if ((rc = rp_json_text(v, path, IDENT_MAX, 0, &s, e)))
		return rc;
	if (s[0] == '$') {
		if (!pc->refs)
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\": %s does not take \"$NAME\" references",
					  path, rp_show(s, sh), pc->key);
		if (!is_ref(s))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not a valid \"$NAME\" reference",
					  path, rp_show(s, sh));
		*ref = 1;
		return 0;
	}
	if (!pc->idents)
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" is neither an integer nor a \"$NAME\" reference",
				  path, rp_show(s, sh));
	if (!is_controller(s))
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" is not a controller name", path,
				  rp_show(s, sh));
	return 0;
}

static int check_periph_cap(const struct periph_cap *pc, json_t *v,
			    const char *path, int *needs_board,
			    struct rp_err *e)
{
	char ip[PATH_MAX_LEN];
	size_t n, i, at;
	int rc, ref;

	if ((rc = get_array(v, path, &n, e)))
		return rc;
	for (i = 0; i < n; i++) {
		index_path(ip, path, i);
		if ((rc = check_periph_value(pc, json_array_get(v, i), ip, &ref,
					     e)))
			return rc;
		if (ref)
			*needs_board = 1;
		if (dup_value(v, i, &at))
			return dup_err(e, ip, json_array_get(v, i), at);
	}
	return 0;
}

static int check_power(json_t *v, const char *path, struct rp_err *e)
{
	char ip[PATH_MAX_LEN], sh[SHOW_MAX + 4];
	const char *s;
	size_t n, i, at;
	int rc;

	if ((rc = get_array(v, path, &n, e)))
		return rc;
	for (i = 0; i < n; i++) {
		const char *const *p;

		index_path(ip, path, i);
		if ((rc = rp_json_text(json_array_get(v, i), ip, IDENT_MAX, 0, &s,
				       e)))
			return rc;
		for (p = power_controls; *p; p++)
			if (strcmp(*p, s) == 0)
				break;
		if (!*p)
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not ForcePowerDown, ForceReboot or SetPowerProfile",
					  ip, rp_show(s, sh));
		if (dup_string(v, i, 0, &at))
			return dup_err(e, ip, json_array_get(v, i), at);
	}
	return 0;
}

static int check_storage(json_t *v, const char *path, uint64_t *kb,
			 struct rp_err *e)
{
	static const char *const keys[] = { "SizeKB", NULL };
	char kp[PATH_MAX_LEN];
	json_t *size;
	int rc;

	if (!json_is_object(v))
		return rp_json_type_err(e, path, "an object", v);
	if ((rc = rp_json_only_keys(v, keys, path, e)))
		return rc;
	join(kp, path, "SizeKB");
	size = json_object_get(v, "SizeKB");
	if (!size)
		return rp_err_set(e, RP_EFORMAT, "%s: required key is missing",
				  kp);
	return rp_json_uint(size, kp, 1, RP_MANIFEST_STORAGE_KB_MAX, kb, e);
}

static const struct periph_cap *find_periph_cap(const char *key)
{
	size_t i;

	for (i = 0; i < N_PERIPH_CAPS; i++)
		if (strcmp(periph_caps[i].key, key) == 0)
			return &periph_caps[i];
	return NULL;
}

static int in_list(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

static int check_capabilities(json_t *caps, struct rp_manifest *m,
			      struct rp_err *e)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(caps))
		return rp_json_type_err(e, "Capabilities", "an object", caps);
	json_object_foreach(caps, key, v) {
		const struct periph_cap *pc = find_periph_cap(key);
		char path[PATH_MAX_LEN];
		uint8_t g[16];

		join(path, "Capabilities", key);
		if (pc)
			rc = check_periph_cap(pc, v, path, &m->needs_board, e);
		else if (in_list(bool_caps, key))
			rc = json_is_boolean(v) ? 0 :
			     rp_json_type_err(e, path, "a boolean", v);
		else if (strcmp(key, "AllowedConnections") == 0)
			rc = check_connections(v, path, e);
		else if (strcmp(key, "AllowedTcpServerPorts") == 0 ||
			 strcmp(key, "AllowedUdpServerPorts") == 0)
			rc = check_ports(v, path, e);
		else if (strcmp(key, "AllowedApplicationConnections") == 0)
			rc = check_guids(v, path, e);
		else if (strcmp(key, "DeviceAuthentication") == 0)
			rc = check_guid(v, path, g, e);
		else if (strcmp(key, "MutableStorage") == 0)
			rc = check_storage(v, path, &m->storage_kb, e);
		else if (strcmp(key, "PowerControls") == 0)
			rc = check_power(v, path, e);
		else
			rc = rp_err_set(e, RP_EFORMAT, "%s: unknown key", path);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_rampart(json_t *v, struct rp_manifest_limits *lim,
			 struct rp_err *e)
{
	const char *key;
	json_t *val;
	int rc;

	if (!json_is_object(v))
		return rp_json_type_err(e, "Rampart", "an object", v);
	json_object_foreach(v, key, val) {
		char path[PATH_MAX_LEN];
		size_t i;

		join(path, "Rampart", key);
		for (i = 0; i < N_LIMIT_KEYS; i++)
			if (strcmp(limit_keys[i].key, key) == 0)
				break;
		if (i == N_LIMIT_KEYS)
			return rp_err_set(e, RP_EFORMAT, "%s: unknown key", path);
		rc = rp_json_uint(val, path, limit_keys[i].min, limit_keys[i].max,
			     (uint64_t *)(void *)((char *)lim + limit_keys[i].off),
			     e);
		if (rc)
			return rc;
	}
	return 0;
}

/* An absolute path inside the image: printable ASCII without spaces or
 * backslashes, no empty, "." or ".." components, no trailing slash. */
static int check_entry_point(const char *s, struct rp_err *e)
{
	char sh[SHOW_MAX + 4];
	size_t i, start;

	if (s[0] != '/')
		return rp_err_set(e, RP_EFORMAT,
				  "EntryPoint: \"%s\" is not an absolute path",
				  rp_show(s, sh));
	for (i = 0; s[i]; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '\\')
			return rp_err_set(e, RP_EFORMAT,
					  "EntryPoint: \"%s\" has a character not allowed in a path",
					  rp_show(s, sh));
	for (start = 1, i = 1;; i++) {
		if (s[i] && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return rp_err_set(e, RP_EFORMAT,
					  "EntryPoint: \"%s\" has an empty, \".\" or \"..\" component",
					  rp_show(s, sh));
		if (!s[i])
			break;
		start = i + 1;
	}
	return 0;
}

static int check_cmdargs(json_t *v, struct rp_err *e)
{
	char ip[PATH_MAX_LEN];
	size_t n, i, total = 0;
	const char *s;
	int rc;

	if ((rc = get_array(v, "CmdArgs", &n, e)))
		return rc;
	for (i = 0; i < n; i++) {
		index_path(ip, "CmdArgs", i);
		if ((rc = rp_json_text(json_array_get(v, i), ip,
				     RP_MANIFEST_STRING_MAX, RP_JSON_EMPTY_OK, &s, e)))
			return rc;
		total += strlen(s) + 1;
	}
	if (total > CMDARGS_TOTAL_MAX)
		return rp_err_set(e, RP_ERANGE, "CmdArgs: %zu bytes in all, at most %d",
				  total, CMDARGS_TOTAL_MAX);
	return 0;
}

/* Keep the first RP_MANIFEST_NAME_MAX bytes, never splitting a UTF-8
 * sequence. */
static void copy_name(char *out, const char *s)
{
	size_t n = strlen(s);

	if (n > RP_MANIFEST_NAME_MAX) {
		n = RP_MANIFEST_NAME_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static json_t *required(json_t *root, const char *key, struct rp_err *e)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		rp_err_set(e, RP_EFORMAT, "%s: required key is missing", key);
	return v;
}

static int validate(struct rp_manifest *m, struct rp_err *e)
{
	json_t *root = m->root, *v;
	const char *s;
	char sh[SHOW_MAX + 4];
	uint64_t n;
	int rc;

	if (!json_is_object(root))
		return rp_err_set(e, RP_EFORMAT,
				  "the document: expected an object, got %s",
				  rp_json_type_name(root));
	if ((rc = rp_json_only_keys(root, top_keys, "", e)))
		return rc;

	if (!(v = required(root, "SchemaVersion", e)))
		return RP_EFORMAT;
	if (!json_is_integer(v))
		return rp_json_type_err(e, "SchemaVersion", "an integer", v);
	if (json_integer_value(v) != 1)
		return rp_err_set(e, RP_EFORMAT, "SchemaVersion: must be 1, got %lld",
				  (long long)json_integer_value(v));

	if (!(v = required(root, "Name", e)))
		return RP_EFORMAT;
	if ((rc = rp_json_text(v, "Name", RP_MANIFEST_STRING_MAX, 0, &s, e)))
		return rc;
	copy_name(m->name, s);

	if (!(v = required(root, "ComponentId", e)))
		return RP_EFORMAT;
	if ((rc = check_guid(v, "ComponentId", m->component_id, e)))
		return rc;
	rp_guid_format(m->component_id, m->component_id_text);

	if (!(v = required(root, "EntryPoint", e)))
		return RP_EFORMAT;
	if ((rc = rp_json_text(v, "EntryPoint", ENTRY_POINT_MAX, 0, &s, e)) ||
	    (rc = check_entry_point(s, e)))
		return rc;
	m->entry_point = s;

	if ((v = json_object_get(root, "CmdArgs")) && (rc = check_cmdargs(v, e)))
		return rc;

	m->app_type = RP_APP_DEFAULT;
	if ((v = json_object_get(root, "ApplicationType"))) {
		if ((rc = rp_json_text(v, "ApplicationType", IDENT_MAX, 0, &s, e)))
			return rc;
		if (strcmp(s, "Default") == 0)
			m->app_type = RP_APP_DEFAULT;
		else if (strcmp(s, "Debugger") == 0)
			m->app_type = RP_APP_DEBUGGER;
		else if (strcmp(s, "RealTimeCapable") == 0)
			m->app_type = RP_APP_REALTIME;
		else
			return rp_err_set(e, RP_EFORMAT,
					  "ApplicationType: \"%s\" is not Default, Debugger or RealTimeCapable",
					  rp_show(s, sh));
	}

	if ((v = json_object_get(root, "TargetApplicationRuntimeVersion")) &&
	    (rc = rp_json_uint(v, "TargetApplicationRuntimeVersion", 1, 1000, &n, e)))
		return rc;
	if ((v = json_object_get(root, "TargetBetaApis"))) {
		if ((rc = rp_json_text(v, "TargetBetaApis", IDENT_MAX, 0, &s, e)))
			return rc;
		if (!is_controller(s))
			return rp_err_set(e, RP_EFORMAT,
					  "TargetBetaApis: \"%s\" is not a release name such as \"Beta2101\"",
					  rp_show(s, sh));
	}
	if ((v = json_object_get(root, "MallocVersion")) &&
	    (rc = rp_json_uint(v, "MallocVersion", 1, 2, &n, e)))
		return rc;

	if ((v = json_object_get(root, "Capabilities")) &&
	    (rc = check_capabilities(v, m, e)))
		return rc;
	if ((v = json_object_get(root, "Rampart")) &&
	    (rc = check_rampart(v, &m->limits, e)))
		return rc;
	return 0;
}

int rp_manifest_parse(const uint8_t *buf, size_t len, struct rp_manifest **out,
		      struct rp_err *e)
{
	struct rp_manifest *m = NULL;
	int rc;

	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = rp_json_parse(buf, len, RP_MANIFEST_MAX, &m->root, e)) ||
	    (rc = validate(m, e)))
		goto out;
	*out = m;
	m = NULL;
out:
	rp_manifest_free(m);
	return rc;
}

static const char *article(const char *word)
{
	return strchr("AEIOaeio", word[0]) && word[0] ? "an" : "a";
}

/* Resolve one capability array of the copy `caps`, in place. */
static int resolve_cap(json_t *caps, const struct periph_cap *pc,
		       const struct rp_board *b, struct rp_err *e)
{
	char path[PATH_MAX_LEN], ip[PATH_MAX_LEN], sh[SHOW_MAX + 4];
	json_t *arr = json_object_get(caps, pc->key), *out = NULL;
	size_t i, n;
	int rc = 0, ref;

	if (!arr || !pc->refs)
		return 0;
	join(path, "Capabilities", pc->key);
	out = json_array();
	if (!out)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	n = json_array_size(arr);
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i), *nv;
		const struct rp_board_periph *p;
		const char *s = json_string_value(v);
		size_t j, dup = 0;

		index_path(ip, path, i);
		if (!s || s[0] != '$') {
			nv = json_incref(v);
		} else {
			p = rp_board_find(b, s + 1);
			if (!p) {
				rc = rp_err_set(e, RP_EFORMAT,
						"%s: \"%s\" is not defined by board \"%s\"",
						ip, rp_show(s, sh),
						rp_board_name(b) ? rp_board_name(b) : "?");
				goto out;
			}
			if (strcmp(p->type, pc->key) != 0) {
				rc = rp_err_set(e, RP_EFORMAT,
						"%s: \"%s\" is %s %s, not %s %s",
						ip, rp_show(s, sh), article(p->type),
						p->type, article(pc->key), pc->key);
				goto out;
			}
			if (!p->value) {
				rc = rp_err_set(e, RP_EFORMAT,
						"%s: \"%s\" has no AppManifestValue in board \"%s\"",
						ip, rp_show(s, sh),
						rp_board_name(b) ? rp_board_name(b) : "?");
				goto out;
			}
			nv = json_deep_copy(p->value);
			if (!nv) {
				rc = rp_err_set(e, RP_ENOMEM, "out of memory");
				goto out;
			}
			rc = check_periph_value(pc, nv, ip, &ref, e);
			if (!rc && ref)
				rc = rp_err_set(e, RP_EFORMAT,
						"%s: \"%s\" resolves to another reference",
						ip, rp_show(s, sh));
			if (rc) {
				json_decref(nv);
				rp_err_prefix(e, "board \"%s\" gives a bad value",
					      rp_board_name(b) ? rp_board_name(b) : "?");
				goto out;
			}
		}
		for (j = 0; j < json_array_size(out); j++)
			if (json_equal(nv, json_array_get(out, j)))
				dup = 1;
		if (dup)
			json_decref(nv);
		else if (json_array_append_new(out, nv)) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (json_object_set(caps, pc->key, out))
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	json_decref(out);
	return rc;
}

int rp_manifest_resolve(struct rp_manifest *m, const struct rp_board *b,
			struct rp_err *e)
{
	json_t *root = NULL, *caps;
	size_t i;
	int rc = 0;

	if (!m || !m->root)
		return rp_err_set(e, RP_EUSAGE, "no manifest");
	if (!m->needs_board)
		return 0;
	if (!b)
		return rp_err_set(e, RP_EUSAGE,
				  "the manifest names peripherals with \"$NAME\" but no board was given");
	root = json_deep_copy(m->root);
	if (!root) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	caps = json_object_get(root, "Capabilities");
	for (i = 0; caps && i < N_PERIPH_CAPS; i++)
		if ((rc = resolve_cap(caps, &periph_caps[i], b, e)))
			goto out;
	json_decref(m->root);
	m->root = root;
	root = NULL;
	m->entry_point = json_string_value(json_object_get(m->root, "EntryPoint"));
	m->needs_board = 0;
out:
	json_decref(root);
	return rc;
}

int rp_manifest_serialize(const struct rp_manifest *m, struct rp_buf *out,
			  struct rp_err *e)
{
	const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
	char *tmp = NULL;
	size_t n;
	int rc;

	rp_buf_init(out, RP_MANIFEST_MAX);
	if (!m || !m->root)
		return rp_err_set(e, RP_EUSAGE, "no manifest");
	n = json_dumpb(m->root, NULL, 0, flags);
	if (n == 0) {
		rc = rp_err_set(e, RP_EFORMAT, "cannot serialise the manifest");
		goto out;
	}
	if (n > RP_MANIFEST_MAX) {
		rc = rp_err_set(e, RP_ERANGE,
				"serialised manifest is %zu bytes, at most %d", n,
				RP_MANIFEST_MAX);
		goto out;
	}
	tmp = malloc(n);
	if (!tmp) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (json_dumpb(m->root, tmp, n, flags) != n) {
		rc = rp_err_set(e, RP_EFORMAT, "cannot serialise the manifest");
		goto out;
	}
	rc = rp_buf_append(out, tmp, n);
	if (rc)
		rp_err_set(e, rc, "serialised manifest does not fit");
out:
	free(tmp);
	if (rc)
		rp_buf_free(out);
	return rc;
}

void rp_manifest_free(struct rp_manifest *m)
{
	if (!m)
		return;
	json_decref(m->root);
	free(m);
}
