/* The remote verbs' shared plumbing: calls, output, names, options. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/json.h"
#include "cli.h"
#include "remote.h"

#define COL_MAX 40      /* default widest text column before "..." */
#define CELL_MAX 256    /* widest cell any column may ask for */
#define NAMES_SHOWN 8   /* candidates named in an error */

/* ---- calls ------------------------------------------------------------- */

/* What a status means when the answer carries no message of its own. */
static const char *reason(long status)
{
	switch (status) {
	case 400: return "the server refused the request as malformed";
	case 401: return "the server did not accept the token";
	case 403: return "the token's role does not allow this";
	case 404: return "not found";
	case 405: return "the server does not serve this method here";
	case 409: return "conflict";
	case 413: return "the body is larger than the server accepts";
	case 415: return "the server refused the content type";
	case 416: return "the range is outside the file";
	case 422: return "the server refused the content";
	case 503: return "the service is not available";
	default:
		return status >= 500 ? "the server failed" : "the server refused the request";
	}
}

int remote_status_err(long status, json_t *doc, struct rp_err *e)
{
	json_t *err = json_object_get(doc, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	int rc = status >= 400 && status < 500 ? RP_EPOLICY : RP_EIO;
	char shown[RP_ERR_MSG_MAX - 64];
	size_t i;

	if (!msg)
		return rp_err_set(e, rc, "%s (HTTP %ld)", reason(status), status);
	/* The server's text, bounded and without control characters. */
	for (i = 0; msg[i] && i + 1 < sizeof(shown); i++)
		shown[i] = (unsigned char)msg[i] < 0x20 || msg[i] == 0x7f ? '?' : msg[i];
	shown[i] = '\0';
	return rp_err_set(e, rc, "%s (HTTP %ld)", shown, status);
}

int remote_request(struct cli_http *h, const char *method, const char *path,
		   json_t *body, json_t **out, struct rp_err *e)
{
	json_t *doc = NULL;
	long status = 0;
	int rc;

	rc = cli_http_call(h, method, path, body, &status, &doc, e);
	if (rc)
		return rc;
	if (status < 200 || status > 299) {
		rc = remote_status_err(status, doc, e);
		json_decref(doc);
		return rc;
	}
	if (!doc)
		return rp_err_set(e, RP_EFORMAT, "the server answered HTTP %ld with an "
				  "empty body", status);
	*out = doc;
	return 0;
}

int remote_path(char *out, size_t outsz, struct rp_err *e, const char *fmt, ...)
{
	char seg[512];
	const char *val;
	size_t o = 0, n;
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	while (*fmt) {
		if (fmt[0] == '%' && fmt[1] == 's') {
			val = va_arg(ap, const char *);
			rc = cli_http_escape(val, seg, sizeof(seg), e);
			if (rc) {
				char shown[RP_SHOW_BUF];

				rp_err_prefix(e, "'%s'", rp_show(val, shown));
				break;
			}
			fmt += 2;
		} else {
			seg[0] = *fmt++;
			seg[1] = '\0';
		}
		n = strlen(seg);
		if (n >= outsz - o) {
			rc = rp_err_set(e, RP_EUSAGE, "request path too long");
			break;
		}
		memcpy(out + o, seg, n + 1);
		o += n;
	}
	va_end(ap);
	return rc;
}

/* ---- output ------------------------------------------------------------ */

static void clean(const char *s, char *out, size_t outsz)
{
	size_t i, n;

	for (i = 0, n = 0; s[i] && n + 1 < outsz; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	out[n] = '\0';
}

/* A value as one printable line. */
static void render(json_t *v, char *out, size_t outsz, const char *none)
{
	char *dump;
	size_t i, o = 0;
	json_t *it;

	out[0] = '\0';
	if (!v || json_is_null(v)) {
		clean(none, out, outsz);
	} else if (json_is_string(v)) {
		clean(json_string_value(v), out, outsz);
	} else if (json_is_integer(v)) {
		snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		snprintf(out, outsz, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(out, outsz, "%s", json_is_true(v) ? "true" : "false");
	} else if (json_is_array(v) && outsz > 1) {
		json_array_foreach(v, i, it) {
			const char *s = json_is_string(it) ? json_string_value(it)
				: json_string_value(json_object_get(it, "id"));
			int w;

			if (!s)
				s = "?";
			w = snprintf(out + o, outsz - o, "%s%s", i ? "," : "", s);
			if (w < 0 || (size_t)w >= outsz - o)
				break;
			o += (size_t)w;
		}
		clean(out, out, outsz);
		if (!json_array_size(v))
			clean(none, out, outsz);
	} else if ((dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		clean(dump, out, outsz);
		free(dump);
	}
}

int remote_print_table(json_t *arr, const struct remote_col *cols)
{
	size_t w[12] = { 0 }, lim[12] = { 0 }, i, k, ncol, len;
	char cell[CELL_MAX + 1];
	json_t *row;

	for (ncol = 0; cols[ncol].key && ncol < 12; ncol++) {
		w[ncol] = strlen(cols[ncol].head);
		lim[ncol] = cols[ncol].width ? cols[ncol].width : COL_MAX;
		if (lim[ncol] > CELL_MAX)
			lim[ncol] = CELL_MAX;
	}
	json_array_foreach(arr, i, row)
		for (k = 0; k < ncol; k++) {
			render(json_object_get(row, cols[k].key), cell, lim[k] + 1, "-");
			if (strlen(cell) > w[k])
				w[k] = strlen(cell);
		}
	for (k = 0; k < ncol; k++)
		printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, cols[k].head,
		       k + 1 < ncol ? "  " : "\n");
	json_array_foreach(arr, i, row)
		for (k = 0; k < ncol; k++) {
			/* One byte more than fits tells whether it was cut. */
			render(json_object_get(row, cols[k].key), cell,
			       lim[k] + 2 <= sizeof(cell) ? lim[k] + 2 : sizeof(cell), "-");
			len = strlen(cell);
			if (len > lim[k] && lim[k] >= 3)
				memcpy(cell + lim[k] - 3, "...", 4);
			printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, cell,
			       k + 1 < ncol ? "  " : "\n");
		}
	return fflush(stdout) == 0 ? 0 : RP_EIO;
}

int remote_print_object(json_t *obj)
{
	char cell[1024];
	const char *key;
	json_t *v;
	size_t w = 0;

	json_object_foreach(obj, key, v)
		if (strlen(key) > w)
			w = strlen(key);
	json_object_foreach(obj, key, v) {
		char k[128];

		clean(key, k, sizeof(k));
		render(v, cell, sizeof(cell), "-");
		if (json_is_array(v) || json_is_object(v)) {
			char *dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

			if (dump) {
				clean(dump, cell, sizeof(cell));
				free(dump);
			}
		}
		printf("%-*s  %s\n", (int)w + 1, k, cell);
	}
	return fflush(stdout) == 0 ? 0 : RP_EIO;
}

int remote_output(json_t *doc, int json, const struct remote_col *cols,
		  struct rp_err *e)
{
	int rc;

	if (json) {
		rc = cli_print_json(doc); /* frees doc */
		return rc == EXIT_OK ? 0 : rp_err_set(e, RP_EIO, "writing output failed");
	}
	if (cols && json_is_array(doc))
		rc = remote_print_table(doc, cols);
	else if (json_is_object(doc))
		rc = remote_print_object(doc);
	else
		rc = rp_err_set(e, RP_EFORMAT, "the server answered unexpected JSON (%s)",
				rp_json_type_name(doc));
	json_decref(doc);
	if (rc && !e->code)
		rp_err_set(e, RP_EIO, "writing output failed");
	return rc;
}

/* ---- names ------------------------------------------------------------- */

static int is_guid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

static int copy_id(json_t *obj, char out[REMOTE_ID_MAX], struct rp_err *e)
{
	const char *id = json_string_value(json_object_get(obj, "id"));

	if (!id || strlen(id) >= REMOTE_ID_MAX)
		return rp_err_set(e, RP_EFORMAT, "the server answered an object without "
				  "a usable \"id\"");
	memcpy(out, id, strlen(id) + 1);
	return 0;
}

/* "a, b, c" of the names in arr (or of the matches when only is set). */
static void name_list(json_t *arr, const unsigned char *only, char *out, size_t outsz)
{
	size_t i, o = 0, shown = 0;
	json_t *it;

	out[0] = '\0';
	json_array_foreach(arr, i, it) {
		char n[64];
		int w;

		if (only && !only[i])
			continue;
		if (shown == NAMES_SHOWN) {
			(void)snprintf(out + o, outsz - o, ", ...");
			return;
		}
		render(json_object_get(it, "name"), n, sizeof(n), "?");
		w = snprintf(out + o, outsz - o, "%s'%s' (%s)", shown ? ", " : "", n,
			     json_string_value(json_object_get(it, "id"))
				     ? json_string_value(json_object_get(it, "id")) : "?");
		if (w < 0 || (size_t)w >= outsz - o)
			return;
		o += (size_t)w;
		shown++;
	}
}

/* Pick arg among arr's objects by id, then exact name, then any case. */
static int pick(json_t *arr, const char *what, const char *where, const char *arg,
		char out[REMOTE_ID_MAX], struct rp_err *e)
{
	unsigned char *hit;
	size_t i, n = json_array_size(arr), count = 0, pass;
	char names[320], shown[RP_SHOW_BUF];
	json_t *it;
	int rc;

	if (!json_is_array(arr))
		return rp_err_set(e, RP_EFORMAT, "the server answered a %s list that is "
				  "not an array", what);
	json_array_foreach(arr, i, it) {
		const char *id = json_string_value(json_object_get(it, "id"));

		if (id && strcasecmp(id, arg) == 0)
			return copy_id(it, out, e);
	}
	hit = calloc(n ? n : 1, 1);
	if (!hit)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (pass = 0; pass < 2 && count == 0; pass++)
		json_array_foreach(arr, i, it) {
			const char *name = json_string_value(json_object_get(it, "name"));

			if (name && (pass ? strcasecmp(name, arg) : strcmp(name, arg)) == 0) {
				hit[i] = 1;
				count++;
			}
		}
	if (count == 1) {
		for (i = 0; !hit[i]; i++)
			;
		rc = copy_id(json_array_get(arr, i), out, e);
	} else if (count > 1) {
		name_list(arr, hit, names, sizeof(names));
		rc = rp_err_set(e, RP_EUSAGE, "%s '%s' is ambiguous%s%s: %s; give the id",
				what, rp_show(arg, shown), where ? " in " : "",
				where ? where : "", names);
	} else {
		name_list(arr, NULL, names, sizeof(names));
		rc = rp_err_set(e, RP_EINVAL, "no %s '%s'%s%s (there %s: %s)", what,
				rp_show(arg, shown), where ? " in " : "", where ? where : "",
				n == 1 ? "is" : "are", n ? names : "none");
	}
	free(hit);
	return rc;
}

int remote_tenant(struct cli_http *h, const char *arg, char out[REMOTE_ID_MAX],
		  struct rp_err *e)
{
	char names[320];
	json_t *arr = NULL;
	int rc;

	if (arg && is_guid(arg)) {
		memcpy(out, arg, strlen(arg) + 1);
		return 0;
	}
	rc = remote_request(h, "GET", "/v1/tenants", NULL, &arr, e);
	if (rc)
		return rp_err_prefix(e, "listing tenants");
	if (arg) {
		rc = pick(arr, "tenant", NULL, arg, out, e);
	} else if (json_is_array(arr) && json_array_size(arr) == 1) {
		rc = copy_id(json_array_get(arr, 0), out, e);
	} else if (!json_is_array(arr)) {
		rc = rp_err_set(e, RP_EFORMAT, "the tenant list is not an array");
	} else if (json_array_size(arr) == 0) {
		rc = rp_err_set(e, RP_EPOLICY, "the token has no role in any tenant");
	} else {
		name_list(arr, NULL, names, sizeof(names));
		rc = rp_err_set(e, RP_EUSAGE, "give --tenant: the token sees %zu tenants: %s",
				json_array_size(arr), names);
	}
	json_decref(arr);
	return rc;
}

int remote_product(struct cli_http *h, const char *tenant, const char *arg,
		   char out[REMOTE_ID_MAX], struct rp_err *e)
{
	char path[256];
	json_t *arr = NULL;
	int rc;

	if (is_guid(arg)) {
		memcpy(out, arg, strlen(arg) + 1);
		return 0;
	}
	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/products", tenant);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &arr, e);
	if (rc)
		return rp_err_prefix(e, "listing products");
	rc = pick(arr, "product", "this tenant", arg, out, e);
	json_decref(arr);
	return rc;
}

int remote_group(struct cli_http *h, const char *tenant, const char *product,
		 const char *arg, char prod_out[REMOTE_ID_MAX],
		 char group_out[REMOTE_ID_MAX], struct rp_err *e)
{
	char path[512], found[REMOTE_ID_MAX], names[320] = "", shown[RP_SHOW_BUF];
	json_t *prods = NULL, *groups = NULL, *p;
	size_t i, count = 0, o = 0;
	struct rp_err sub;
	int rc;

	if (product) {
		rc = remote_product(h, tenant, product, prod_out, e);
		if (rc)
			return rc;
		if (is_guid(arg)) {
			memcpy(group_out, arg, strlen(arg) + 1);
			return 0;
		}
		rc = remote_path(path, sizeof(path), e,
				 "/v1/tenants/%s/products/%s/device-groups", tenant, prod_out);
		if (!rc)
			rc = remote_request(h, "GET", path, NULL, &groups, e);
		if (rc)
			return rp_err_prefix(e, "listing device groups");
		rc = pick(groups, "device group", "this product", arg, group_out, e);
		json_decref(groups);
		return rc;
	}
	/* No product: look in each of the tenant's products. */
	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/products", tenant);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &prods, e);
	if (rc)
		return rp_err_prefix(e, "listing products");
	json_array_foreach(prods, i, p) {
		const char *pid = json_string_value(json_object_get(p, "id"));
		char pname[64];
		int w;

		if (!pid)
			continue;
		rc = remote_path(path, sizeof(path), e,
				 "/v1/tenants/%s/products/%s/device-groups", tenant, pid);
		if (!rc)
			rc = remote_request(h, "GET", path, NULL, &groups, e);
		if (rc) {
			rp_err_prefix(e, "listing device groups");
			goto out;
		}
		memset(&sub, 0, sizeof(sub));
		if (pick(groups, "device group", NULL, arg, found, &sub) == 0) {
			if (count == 0) {
				memcpy(group_out, found, sizeof(found));
				rc = copy_id(p, prod_out, e);
				if (rc)
					goto out;
			}
			count++;
			render(json_object_get(p, "name"), pname, sizeof(pname), "?");
			w = snprintf(names + o, sizeof(names) - o, "%s'%s'", o ? ", " : "",
				     pname);
			if (w > 0 && (size_t)w < sizeof(names) - o)
				o += (size_t)w;
		} else if (sub.code != RP_EINVAL) {
			*e = sub;
			rc = sub.code;
			goto out;
		}
		json_decref(groups);
		groups = NULL;
	}
	if (count == 0)
		rc = rp_err_set(e, RP_EINVAL, "no device group '%s' in any product of "
				"this tenant", rp_show(arg, shown));
	else if (count > 1)
		rc = rp_err_set(e, RP_EUSAGE, "device group '%s' is in %zu products (%s): "
				"give --product", rp_show(arg, shown), count, names);
out:
	json_decref(groups);
	json_decref(prods);
	return rc;
}

/* ---- options and running ------------------------------------------------ */

enum cli_progress remote_progress(int forced)
{
	if (isatty(STDERR_FILENO))
		return CLI_PROGRESS_BAR;
	return forced ? CLI_PROGRESS_LINES : CLI_PROGRESS_NONE;
}

static const struct {
	unsigned bit;
	const char *text;
} opt_help[] = {
	{ RO_TENANT, "  --tenant T        the tenant's id or name (default: the only\n"
		     "                    tenant the token sees)\n" },
	{ RO_PRODUCT, "  --product P       the product's id or name\n" },
	{ RO_GROUP, "  --device-group G  the device group's id or name\n" },
	{ RO_DEVICE, "  --device D        a device id (64 hex digits)\n" },
	{ RO_SINCE, "  --since T         from T: ISO 8601 UTC (2026-11-25T09:27:28Z or\n"
		    "                    2026-11-25), Unix seconds, or an age (30m, 24h, 7d)\n" },
	{ RO_UNTIL, "  --until T         up to T, same forms as --since\n" },
	{ RO_OUT, "  -o, --output FILE write FILE (never over an existing one without\n"
		  "                    --force)\n" },
	{ RO_FORMAT, "  --format F        pem (default) or der\n" },
	{ RO_CSV, "  --csv             CSV (the default and only format)\n" },
	{ RO_PROGRESS, "  --progress        progress lines on stderr even when it is not\n"
		       "                    a terminal (a terminal gets a bar anyway)\n" },
	{ RO_FORCE, "  --force           replace an existing output file\n" },
	{ RO_JSON, "  --json            print the server's JSON answer\n" },
};

static void verb_help(const struct remote_verb *v, FILE *f)
{
	size_t i;

	fprintf(f, "usage: rampart %s %s %s\n\n%s\n", v->group, v->name, v->usage, v->help);
	for (i = 0; i < sizeof(opt_help) / sizeof(opt_help[0]); i++)
		if ((v->opts | RO_TENANT) & opt_help[i].bit)
			fputs(opt_help[i].text, f);
	fprintf(f, "\nThe server, token file and CA certificate come from 'rampart login'.\n");
}

static int parse(const struct remote_verb *v, int argc, char **argv,
		 struct remote_args *a)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "product", required_argument, NULL, 'p' },
		{ "device-group", required_argument, NULL, 'g' },
		{ "device", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "progress", no_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		unsigned bit;
		const char *name;
	} req[] = {
		{ RO_PRODUCT, "--product" }, { RO_GROUP, "--device-group" },
		{ RO_DEVICE, "--device" }, { RO_OUT, "-o FILE" },
	};
	unsigned seen = 0;
	size_t i;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		unsigned bit = 0;

		switch (o) {
		case 't': bit = RO_TENANT; a->tenant_arg = optarg; break;
		case 'p': bit = RO_PRODUCT; a->product = optarg; break;
		case 'g': bit = RO_GROUP; a->group = optarg; break;
		case 'd': bit = RO_DEVICE; a->device = optarg; break;
		case 'S': bit = RO_SINCE; a->since = optarg; break;
		case 'U': bit = RO_UNTIL; a->until = optarg; break;
		case 'o': bit = RO_OUT; a->out = optarg; break;
		case 'f': bit = RO_FORMAT; a->format = optarg; break;
		case 'j': bit = RO_JSON; a->json = 1; break;
		case 'c': bit = RO_CSV; a->csv = 1; break;
		case 'P': bit = RO_PROGRESS; a->progress = 1; break;
		case 'F': bit = RO_FORCE; a->force = 1; break;
		case 'h':
			verb_help(v, stdout);
			return -1;
		default:
			verb_help(v, stderr);
			return EXIT_USAGE;
		}
		if (!((v->opts | RO_TENANT) & bit))
			return cli_usage(a->cmd, "option '%s' is not used here",
					 argv[optind - 1]);
		seen |= bit;
	}
	while (optind < argc) {
		if (a->npos >= 64)
			return cli_usage(a->cmd, "too many arguments");
		a->pos[a->npos++] = argv[optind++];
	}
	if (a->npos < v->minpos)
		return cli_usage(a->cmd, "expected: %s", v->usage);
	if (a->npos > v->maxpos)
		return cli_usage(a->cmd, "unexpected argument '%s'", a->pos[v->maxpos]);
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if ((v->need & req[i].bit) && !(seen & req[i].bit))
			return cli_usage(a->cmd, "%s is required", req[i].name);
	if (a->out && a->json)
		return cli_usage(a->cmd, "give at most one of -o and --json");
	return 0;
}

int remote_run(const struct remote_verb *v, int argc, char **argv)
{
	char *pos[64];
	struct cli_http h = { 0 };
	struct rp_err e = { 0 };
	struct remote_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.pos = pos;
	snprintf(a.cmd, sizeof(a.cmd), "%s %s", v->group, v->name);
	rc = parse(v, argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	rc = remote_session(&h, &e);
	if (!rc) {
		rc = remote_tenant(&h, a.tenant_arg, a.tenant, &e);
		if (rc && e.code != RP_EUSAGE)
			rp_err_prefix(&e, "--tenant");
	}
	if (!rc)
		rc = v->run(&h, &a, &e);
	cli_http_close(&h);
	if (!rc)
		return EXIT_OK;
	fprintf(stderr, "rampart: %s: %s\n", a.cmd, e.msg[0] ? e.msg : rp_code_name(e.code));
	return cli_exit_code(e.code ? e.code : rc);
}

int remote_dispatch(const char *group, const struct remote_verb *verbs,
		    int argc, char **argv)
{
	const struct remote_verb *v;
	int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
				 strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0);
	FILE *f = help ? stdout : stderr;

	if (argc >= 2 && !help)
		for (v = verbs; v->name; v++)
			if (strcmp(v->name, argv[1]) == 0)
				return remote_run(v, argc - 1, argv + 1);
	if (argc >= 2 && !help)
		fprintf(stderr, "rampart %s: unknown command '%s'\n\n", group, argv[1]);
	fprintf(f, "usage: rampart %s <command> [options]\n\ncommands:\n", group);
	for (v = verbs; v->name; v++)
		fprintf(f, "  %s %s\n", v->name, v->usage);
	fprintf(f, "\n'rampart %s <command> --help' describes a command.\n", group);
	return help ? EXIT_OK : EXIT_USAGE;
}
