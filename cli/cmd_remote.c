/* rampart login, tenant, product, device-group, role, token, audit: the
 * security service's REST API (docs/api/openapi.yaml) over HTTPS.
 *
 * The config ($RAMPART_CONFIG, else ~/.config/rampart/config.json) names
 * the server, the token file and the CA certificate; the token itself is
 * read from its file on each call and never copied into the config. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "http.h"
#include "remote.h"

#define CONFIG_MAX (64 * 1024)
#define TOKEN_FILE_MAX 4096

/* ---- config ------------------------------------------------------------ */

struct config {
	char path[PATH_MAX];
	char server[CLI_HTTP_URL_MAX];
	char token_file[PATH_MAX];
	char ca_cert[PATH_MAX]; /* "" for the system CAs */
};

static int copy_str(char *dst, size_t dstsz, const char *src, const char *what,
		    struct rp_err *e)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return rp_err_set(e, RP_ERANGE, "%s: too long", what);
	memcpy(dst, src, n + 1);
	return 0;
}

static int config_path(struct config *c, struct rp_err *e)
{
	const char *env = getenv("RAMPART_CONFIG"), *home = getenv("HOME");
	int n;

	if (env && *env)
		return copy_str(c->path, sizeof(c->path), env, "RAMPART_CONFIG", e);
	if (!home || home[0] != '/')
		return rp_err_set(e, RP_EUSAGE, "neither RAMPART_CONFIG nor an absolute "
				  "HOME is set: cannot find the config");
	n = snprintf(c->path, sizeof(c->path), "%s/.config/rampart/config.json", home);
	if (n < 0 || (size_t)n >= sizeof(c->path))
		return rp_err_set(e, RP_ERANGE, "HOME too long");
	return 0;
}

static int config_load(struct config *c, struct rp_err *e)
{
	static const char *const keys[] = { "server", "token_file", "ca_cert", NULL };
	struct rp_buf b = { 0 };
	json_t *doc = NULL, *v;
	const char *s;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = config_path(c, e);
	if (rc)
		return rc;
	if (access(c->path, F_OK) != 0 && errno == ENOENT)
		return rp_err_set(e, -ENOENT, "no server configured (%s does not exist): "
				  "run 'rampart login --server https://HOST:PORT "
				  "--token-file FILE' first", c->path);
	rc = rp_file_read(c->path, CONFIG_MAX, &b, e);
	if (rc)
		goto out;
	rc = rp_json_parse(b.data, b.len, CONFIG_MAX, &doc, e);
	if (rc)
		goto out;
	if (!json_is_object(doc)) {
		rc = rp_json_type_err(e, "", "an object", doc);
		goto out;
	}
	rc = rp_json_only_keys(doc, keys, "", e);
	if (rc)
		goto out;
	if (!json_object_get(doc, "server") || !json_object_get(doc, "token_file")) {
		rc = rp_err_set(e, RP_EFORMAT, "\"server\" and \"token_file\" are required");
		goto out;
	}
	v = json_object_get(doc, "server");
	rc = rp_json_text(v, "server", CLI_HTTP_URL_MAX - 1, 0, &s, e);
	if (!rc)
		rc = cli_http_check_server(s, c->server, sizeof(c->server), e);
	if (rc)
		goto out;
	v = json_object_get(doc, "token_file");
	rc = rp_json_text(v, "token_file", sizeof(c->token_file) - 1, 0, &s, e);
	if (!rc)
		rc = copy_str(c->token_file, sizeof(c->token_file), s, "token_file", e);
	if (rc)
		goto out;
	v = json_object_get(doc, "ca_cert");
	if (v) {
		rc = rp_json_text(v, "ca_cert", sizeof(c->ca_cert) - 1, 0, &s, e);
		if (!rc)
			rc = copy_str(c->ca_cert, sizeof(c->ca_cert), s, "ca_cert", e);
		if (rc)
			goto out;
	}
out:
	if (rc)
		rp_err_prefix(e, "config %s", c->path);
	json_decref(doc);
	rp_buf_free(&b);
	return rc;
}

/* mkdir -p the config's directory; new directories are 0700. */
static int make_parents(const char *path, struct rp_err *e)
{
	char dir[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(dir))
		return rp_err_set(e, RP_ERANGE, "%s: path too long", path);
	memcpy(dir, path, n + 1);
	for (i = 1; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return rp_err_errno(e, errno, "mkdir %s", dir);
		dir[i] = '/';
	}
	return 0;
}

static int config_save(const struct config *c, struct rp_err *e)
{
	json_t *doc;
	char *text = NULL;
	int rc;

	doc = json_pack("{s:s, s:s}", "server", c->server, "token_file", c->token_file);
	if (doc && c->ca_cert[0] &&
	    json_object_set_new(doc, "ca_cert", json_string(c->ca_cert)) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc)
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = make_parents(c->path, e);
	if (!rc)
		rc = rp_file_write(c->path, text, strlen(text), 0600, 0, e);
	free(text);
	return rc;
}

/* ---- the token ---------------------------------------------------------- */

/* Read the token from path into tok (NUL-terminated, trailing white space
 * dropped). A file group or others may read is refused. */
static int read_token(const char *path, char *tok, size_t toksz, struct rp_err *e)
{
	char buf[TOKEN_FILE_MAX + 1];
	struct stat st;
	ssize_t r;
	size_t n = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return rp_err_errno(e, errno, "token file %s", path);
	if (fstat(fd, &st) != 0) {
		rc = rp_err_errno(e, errno, "token file %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rp_err_set(e, RP_EPOLICY, "token file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		rc = rp_err_set(e, RP_EPOLICY, "token file %s: readable by group or others "
				"(mode %04o); run 'chmod 600 %s'", path,
				(unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (n < sizeof(buf)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = rp_err_errno(e, errno, "token file %s", path);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > TOKEN_FILE_MAX) {
		rc = rp_err_set(e, RP_EFORMAT, "token file %s: larger than %d bytes",
				path, TOKEN_FILE_MAX);
		goto out;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= toksz || memchr(buf, '\0', n)) {
		rc = rp_err_set(e, RP_EFORMAT, "token file %s: no token in it", path);
		goto out;
	}
	memcpy(tok, buf, n);
	tok[n] = '\0';
out:
	rp_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* ---- calls -------------------------------------------------------------- */

/* Session from the config: server, CA and the token read now. */
int remote_session(struct cli_http *h, struct rp_err *e)
{
	struct config c;
	char tok[CLI_HTTP_TOKEN_MAX + 1];
	int rc;

	memset(h, 0, sizeof(*h));
	rc = config_load(&c, e);
	if (rc)
		return rc;
	rc = read_token(c.token_file, tok, sizeof(tok), e);
	if (!rc)
		rc = cli_http_open(h, c.server, c.ca_cert[0] ? c.ca_cert : NULL, tok, e);
	rp_wipe(tok, sizeof(tok));
	return rc;
}

/* ---- the verbs ----------------------------------------------------------- */

enum {
	O_TENANT = 1 << 0,
	O_PRODUCT = 1 << 1,
	O_DESC = 1 << 2,
	O_USER = 1 << 3,
	O_OUT = 1 << 4,
};

enum body_kind { B_NONE, B_NAME, B_PRODUCT, B_ROLE, B_TOKEN };
enum out_kind { OUT_LIST, OUT_OBJECT, OUT_TOKEN };

struct verb {
	const char *group, *name; /* name NULL: the group is the verb */
	const char *method;
	const char *path; /* {t} --tenant, {p} --product, {0} first argument;
			   * tenants and products by id or name */
	unsigned opts;    /* required options; O_DESC, O_OUT optional */
	int npos;
	enum body_kind body;
	enum out_kind out;
	const struct remote_col *cols;
	const char *usage, *help;
};

static const struct remote_col tenant_cols[] = {
	{ "id", "ID", 0 }, { "name", "NAME", 0 }, { "created_at", "CREATED", 0 }, { NULL, NULL, 0 } };
static const struct remote_col product_cols[] = {
	{ "id", "ID", 0 }, { "name", "NAME", 0 }, { "created_at", "CREATED", 0 },
	{ "description", "DESCRIPTION", 0 }, { NULL, NULL, 0 } };
static const struct remote_col group_cols[] = {
	{ "id", "ID", 0 }, { "name", "NAME", 0 }, { "os_feed", "OS FEED", 0 },
	{ "update_policy", "UPDATE POLICY", 0 }, { NULL, NULL, 0 } };
static const struct remote_col role_cols[] = {
	{ "user", "USER", 0 }, { "role", "ROLE", 0 }, { NULL, NULL, 0 } };
static const struct remote_col audit_cols[] = {
	{ "time", "TIME", 0 }, { "actor", "ACTOR", 0 }, { "action", "ACTION", 0 },
	{ "target", "TARGET", 0 }, { "detail", "DETAIL", 0 }, { NULL, NULL, 0 } };

static const struct verb verbs[] = {
	{ "tenant", "create", "POST", "/v1/tenants", 0, 1, B_NAME, OUT_OBJECT, NULL,
	  "create NAME [--json]",
	  "Create a tenant (the service owner only).\n" },
	{ "tenant", "list", "GET", "/v1/tenants", 0, 0, B_NONE, OUT_LIST, tenant_cols,
	  "list [--json]",
	  "List the tenants the token can see (the owner sees all).\n" },
	{ "tenant", "show", "GET", "/v1/tenants/{0}", 0, 1, B_NONE, OUT_OBJECT, NULL,
	  "show ID [--json]", "Show one tenant.\n" },
	{ "product", "create", "POST", "/v1/tenants/{t}/products", O_TENANT | O_DESC, 1,
	  B_PRODUCT, OUT_OBJECT, NULL,
	  "create --tenant T NAME [--description D] [--json]",
	  "Create a product (Contributor); it gets Azure Sphere's five device\n"
	  "groups.\n" },
	{ "product", "list", "GET", "/v1/tenants/{t}/products", O_TENANT, 0, B_NONE,
	  OUT_LIST, product_cols, "list --tenant T [--json]",
	  "List the tenant's products (Reader).\n" },
	{ "product", "show", "GET", "/v1/tenants/{t}/products/{0}", O_TENANT, 1, B_NONE,
	  OUT_OBJECT, NULL, "show --tenant T ID [--json]", "Show one product (Reader).\n" },
	{ "device-group", "list", "GET", "/v1/tenants/{t}/products/{p}/device-groups",
	  O_TENANT | O_PRODUCT, 0, B_NONE, OUT_LIST, group_cols,
	  "list --tenant T --product P [--json]",
	  "List the product's device groups (Reader).\n" },
	{ "role", "add", "POST", "/v1/tenants/{t}/roles", O_TENANT, 2, B_ROLE, OUT_OBJECT,
	  NULL, "add --tenant T USER ROLE [--json]",
	  "Give USER (created if new) the ROLE Administrator, Contributor or\n"
	  "Reader in the tenant (Administrator).\n" },
	{ "role", "list", "GET", "/v1/tenants/{t}/roles", O_TENANT, 0, B_NONE, OUT_LIST,
	  role_cols, "list --tenant T [--json]",
	  "List the tenant's users and their roles (Reader).\n" },
	{ "role", "remove", "DELETE", "/v1/tenants/{t}/roles/{0}", O_TENANT, 1, B_NONE,
	  OUT_OBJECT, NULL, "remove --tenant T USER [--json]",
	  "Remove USER's role (Administrator); the user's tokens stop working.\n" },
	{ "token", "create", "POST", "/v1/tenants/{t}/tokens", O_TENANT | O_USER | O_OUT,
	  0, B_TOKEN, OUT_TOKEN, NULL,
	  "create --tenant T --user U [-o FILE | --json]",
	  "Create an API token for U, who has a role in the tenant\n"
	  "(Administrator). The service keeps only its SHA-256: the token is\n"
	  "shown once. With -o it is written to FILE (mode 0600, never over an\n"
	  "existing file) instead of stdout.\n" },
	{ "audit", NULL, "GET", "/v1/tenants/{t}/audit", O_TENANT, 0, B_NONE, OUT_LIST,
	  audit_cols, "--tenant T [--json]",
	  "Show the tenant's audit log, newest first, at most 1000 entries\n"
	  "(Administrator).\n" },
	{ NULL, NULL, NULL, NULL, 0, 0, B_NONE, OUT_LIST, NULL, NULL, NULL },
};

struct vargs {
	const char *tenant, *product, *desc, *user, *out;
	const char *pos[2];
	int json;
};

static void verb_name(const struct verb *v, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s%s", v->group, v->name ? " " : "",
		 v->name ? v->name : "");
}

static void verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "usage: rampart %s %s\n\n%s\n", v->group, v->usage, v->help);
	if (v->opts & O_TENANT)
		fprintf(f, "  --tenant T       the tenant's id or name (default: the only\n"
			   "                   tenant the token sees)\n");
	if (v->opts & O_PRODUCT)
		fprintf(f, "  --product P      the product's id or name\n");
	if (v->opts & O_DESC)
		fprintf(f, "  --description D  a free-text description (at most 512 bytes)\n");
	if (v->opts & O_USER)
		fprintf(f, "  --user U         the user name\n");
	if (v->opts & O_OUT)
		fprintf(f, "  -o FILE          write the token to FILE (0600)\n");
	fprintf(f, "  --json           print the server's JSON answer\n"
		   "\nThe server, token file and CA certificate come from 'rampart login'.\n");
}

static int verb_parse(const struct verb *v, int argc, char **argv, struct vargs *a)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "product", required_argument, NULL, 'p' },
		{ "description", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char cmd[64];
	int o, i;

	verb_name(v, cmd, sizeof(cmd));
	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		unsigned need = 0;

		switch (o) {
		case 't': need = O_TENANT; a->tenant = optarg; break;
		case 'p': need = O_PRODUCT; a->product = optarg; break;
		case 'd': need = O_DESC; a->desc = optarg; break;
		case 'u': need = O_USER; a->user = optarg; break;
		case 'o': need = O_OUT; a->out = optarg; break;
		case 'j': a->json = 1; break;
		case 'h':
			verb_help(v, stdout);
			return -1;
		default:
			verb_help(v, stderr);
			return EXIT_USAGE;
		}
		if (need && !(v->opts & need))
			return cli_usage(cmd, "option '%s' is not used here", argv[optind - 1]);
	}
	if (argc - optind != v->npos) {
		if (argc - optind > v->npos)
			return cli_usage(cmd, "unexpected argument '%s'", argv[optind + v->npos]);
		return cli_usage(cmd, "expected %d argument(s): %s", v->npos, v->usage);
	}
	for (i = 0; i < v->npos; i++)
		a->pos[i] = argv[optind + i];
	if ((v->opts & O_PRODUCT) && !a->product)
		return cli_usage(cmd, "--product is required");
	if ((v->opts & O_USER) && !a->user)
		return cli_usage(cmd, "--user is required");
	if (a->out && a->json)
		return cli_usage(cmd, "give at most one of -o and --json");
	return 0;
}

/* Expand v->path with each value escaped as one path segment; {t}, {p}
 * and a tenant's or product's {0} are ids resolved from names. */
static int build_path(struct cli_http *h, const struct verb *v,
		      const struct vargs *a, char *out, size_t outsz,
		      struct rp_err *e)
{
	char tenant[REMOTE_ID_MAX] = "", product[REMOTE_ID_MAX] = "";
	char first[REMOTE_ID_MAX] = "";
	const char *p = v->path, *val;
	char seg[512];
	size_t o = 0, n;
	int rc;

	if (strstr(p, "{t}")) {
		rc = remote_tenant(h, a->tenant, tenant, e);
		if (rc)
			return e->code == RP_EUSAGE ? rc : rp_err_prefix(e, "--tenant");
	}
	if (strstr(p, "{p}")) {
		rc = remote_product(h, tenant, a->product, product, e);
		if (rc)
			return e->code == RP_EUSAGE ? rc : rp_err_prefix(e, "--product");
	}
	/* "tenant show NAME", "product show NAME" */
	if (strstr(p, "{0}") && strcmp(v->method, "GET") == 0) {
		rc = strcmp(v->group, "tenant") == 0 ? remote_tenant(h, a->pos[0], first, e)
		   : strcmp(v->group, "product") == 0
			   ? remote_product(h, tenant, a->pos[0], first, e) : 0;
		if (rc)
			return rc;
	}
	while (*p) {
		if (p[0] == '{' && p[1] && p[2] == '}') {
			val = p[1] == 't' ? tenant : p[1] == 'p' ? product
			    : first[0] ? first : a->pos[0];
			rc = cli_http_escape(val, seg, sizeof(seg), e);
			if (rc)
				return rp_err_prefix(e, "'%.64s'", val);
			p += 3;
		} else {
			seg[0] = *p++;
			seg[1] = '\0';
		}
		n = strlen(seg);
		if (n >= outsz - o)
			return rp_err_set(e, RP_EUSAGE, "request path too long");
		memcpy(out + o, seg, n + 1);
		o += n;
	}
	return 0;
}

static json_t *build_body(const struct verb *v, const struct vargs *a)
{
	json_t *b;

	switch (v->body) {
	case B_NAME:
		return json_pack("{s:s}", "name", a->pos[0]);
	case B_PRODUCT:
		b = json_pack("{s:s}", "name", a->pos[0]);
		if (b && a->desc &&
		    json_object_set_new(b, "description", json_string(a->desc)) != 0) {
			json_decref(b);
			return NULL;
		}
		return b;
	case B_ROLE:
		return json_pack("{s:s, s:s}", "user", a->pos[0], "role", a->pos[1]);
	case B_TOKEN:
		return json_pack("{s:s}", "user", a->user);
	case B_NONE:
	default:
		return NULL;
	}
}

static int print_token(json_t *doc, const struct vargs *a, struct rp_err *e)
{
	const char *tok = json_string_value(json_object_get(doc, "token"));
	struct rp_buf b;
	int rc;

	if (!tok)
		return rp_err_set(e, RP_EFORMAT, "server: the answer has no token");
	if (!a->out) {
		printf("%s\n", tok);
		return fflush(stdout) == 0 ? 0 : rp_err_set(e, RP_EIO, "writing output failed");
	}
	rp_buf_init(&b, CLI_HTTP_TOKEN_MAX + 2);
	rc = rp_buf_printf(&b, "%s\n", tok);
	if (!rc)
		rc = rp_file_write(a->out, b.data, b.len, 0600, 1, e);
	else
		rp_err_set(e, rc, "token too long");
	rp_buf_free_wipe(&b);
	if (!rc)
		fprintf(stderr, "rampart: token for %s written to %s\n", a->user, a->out);
	return rc;
}

static int run_verb(const struct verb *v, int argc, char **argv)
{
	struct cli_http h = { 0 };
	struct rp_err e = { 0 };
	struct vargs a;
	char path[2048], cmd[64];
	json_t *body = NULL, *doc = NULL;
	int rc;

	rc = verb_parse(v, argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	verb_name(v, cmd, sizeof(cmd));
	if (v->body != B_NONE && !(body = build_body(v, &a))) {
		rc = rp_err_set(&e, RP_ENOMEM, "out of memory");
		goto out;
	}
	rc = remote_session(&h, &e);
	if (!rc)
		rc = build_path(&h, v, &a, path, sizeof(path), &e);
	if (!rc)
		rc = remote_request(&h, v->method, path, body, &doc, &e);
	if (rc)
		goto out;
	if (v->out == OUT_TOKEN && !a.json) {
		rc = print_token(doc, &a, &e);
		json_decref(doc);
	} else {
		rc = remote_output(doc, a.json, v->out == OUT_LIST ? v->cols : NULL, &e);
	}
	doc = NULL;
out:
	json_decref(doc);
	json_decref(body);
	cli_http_close(&h);
	if (!rc)
		return EXIT_OK;
	fprintf(stderr, "rampart: %s: %s\n", cmd, e.msg[0] ? e.msg : rp_code_name(e.code));
	return cli_exit_code(e.code ? e.code : rc);
}

static int run_group(const char *group, int argc, char **argv)
{
	const struct verb *v;
	int n = 0;

	for (v = verbs; v->group; v++)
		if (strcmp(v->group, group) == 0 && !v->name)
			return run_verb(v, argc, argv);
	if (argc >= 2)
		for (v = verbs; v->group; v++)
			if (strcmp(v->group, group) == 0 && strcmp(v->name, argv[1]) == 0)
				return run_verb(v, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h") &&
	    strcmp(argv[1], "help"))
		fprintf(stderr, "rampart %s: unknown command '%s'\n\n", group, argv[1]);
	{
		int ok = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
				       strcmp(argv[1], "-h") == 0 ||
				       strcmp(argv[1], "help") == 0);
		FILE *f = ok ? stdout : stderr;

		fprintf(f, "usage: rampart %s <command> [options]\n\ncommands:\n", group);
		for (v = verbs; v->group; v++)
			if (strcmp(v->group, group) == 0) {
				fprintf(f, "  %s\n", v->usage);
				n++;
			}
		fprintf(f, "\n'rampart %s <command> --help' describes a command.\n", group);
		return ok && n ? EXIT_OK : EXIT_USAGE;
	}
}

int cmd_tenant(int argc, char **argv) { return run_group("tenant", argc, argv); }
int cmd_product(int argc, char **argv) { return run_group("product", argc, argv); }
int cmd_device_group(int argc, char **argv) { return run_group("device-group", argc, argv); }
int cmd_role(int argc, char **argv) { return run_group("role", argc, argv); }
int cmd_token(int argc, char **argv) { return run_group("token", argc, argv); }
int cmd_audit(int argc, char **argv) { return run_group("audit", argc, argv); }

/* ---- login --------------------------------------------------------------- */

static void login_help(FILE *f)
{
	fprintf(f, "usage: rampart login --server https://HOST:PORT --token-file FILE "
		   "[--ca-cert PEM]\n\n"
		   "Check that the security service answers (GET /v1/health) and accepts\n"
		   "the token (GET /v1/tenants), then remember the server, the token\n"
		   "file and the CA certificate in $RAMPART_CONFIG, else\n"
		   "~/.config/rampart/config.json (mode 0600). The token stays in its\n"
		   "file, which must not be readable by group or others; it is read\n"
		   "again on every call.\n\n"
		   "  --server URL      https://HOST[:PORT]; plain HTTP is refused\n"
		   "  --token-file FILE the API token (rpt_...), mode 0600\n"
		   "  --ca-cert PEM     trust only this CA (default: the system CAs)\n");
}

static int abs_path(const char *in, char *out, size_t outsz, struct rp_err *e)
{
	char *r = realpath(in, NULL);
	int rc;

	if (!r)
		return rp_err_errno(e, errno, "%s", in);
	rc = copy_str(out, outsz, r, in, e);
	free(r);
	return rc;
}

int cmd_login(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "ca-cert", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *tokf = NULL, *ca = NULL;
	struct cli_http h = { 0 };
	struct rp_err e = { 0 };
	struct config c;
	char tok[CLI_HTTP_TOKEN_MAX + 1] = "";
	json_t *doc = NULL;
	long status = 0;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 't': tokf = optarg; break;
		case 'c': ca = optarg; break;
		case 'h':
			login_help(stdout);
			return EXIT_OK;
		default:
			login_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("login", "unexpected argument '%s'", argv[optind]);
	if (!server || !tokf)
		return cli_usage("login", "--server and --token-file are required");
	memset(&c, 0, sizeof(c));
	rc = cli_http_check_server(server, c.server, sizeof(c.server), &e);
	if (rc) {
		fprintf(stderr, "rampart login: %s\n", e.msg);
		return EXIT_USAGE;
	}
	rc = config_path(&c, &e);
	if (!rc)
		rc = abs_path(tokf, c.token_file, sizeof(c.token_file), &e);
	if (!rc && ca) {
		rc = abs_path(ca, c.ca_cert, sizeof(c.ca_cert), &e);
		if (rc)
			rp_err_prefix(&e, "--ca-cert");
	}
	if (!rc)
		rc = read_token(c.token_file, tok, sizeof(tok), &e);
	/* The health check goes without the token, so a server that is not
	 * the service never sees it... */
	if (!rc)
		rc = cli_http_open(&h, c.server, ca ? c.ca_cert : NULL, NULL, &e);
	if (!rc)
		rc = cli_http_call(&h, "GET", "/v1/health", NULL, &status, &doc, &e);
	cli_http_close(&h);
	if (!rc && (status != 200 ||
		    !json_is_string(json_object_get(doc, "status")) ||
		    strcmp(json_string_value(json_object_get(doc, "status")), "ok") != 0))
		rc = rp_err_set(&e, RP_EFORMAT, "%s/v1/health: HTTP %ld: not a Rampart "
				"security service answering 'ok'", c.server, status);
	json_decref(doc);
	doc = NULL;
	if (!rc)
		rc = cli_http_open(&h, c.server, ca ? c.ca_cert : NULL, tok, &e);
	rp_wipe(tok, sizeof(tok));
	if (rc)
		goto out;
	/* ...then one authenticated call proves the token. */
	rc = remote_request(&h, "GET", "/v1/tenants", NULL, &doc, &e);
	if (rc) {
		rp_err_prefix(&e, "the token in %s was not accepted", c.token_file);
		goto out;
	}
	rc = config_save(&c, &e);
	if (rc)
		goto out;
	printf("logged in to %s (%zu tenant(s) visible); config in %s\n", c.server,
	       json_array_size(doc), c.path);
out:
	rp_wipe(tok, sizeof(tok));
	json_decref(doc);
	cli_http_close(&h);
	return rc ? cli_fail(&e) : EXIT_OK;
}
