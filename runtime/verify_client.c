/* rampartd's side of rampart-verify: find the helper, run it with a clean
 * environment and no inherited descriptors, bound its time and output,
 * and read its one JSON line strictly. The helper does every step that
 * needs cryptography or reads package bytes, so rampartd links neither
 * libcrypto nor the package readers (docs/DESIGN.md).
 *
 * The run is synchronous: the event loop waits for the helper, at most
 * cfg.verify_timeout_ms, then the helper is killed. Installs and starts
 * are rare and a verification takes milliseconds, so a bounded stall is
 * simpler and safer than a second state machine for each caller. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/json.h"
#include "rampartd.h"
#include "verify.h"

#define ARGS_MAX 16

#ifndef RP_LIBEXECDIR
#define RP_LIBEXECDIR "/usr/local/libexec"
#endif

static int is_exe(const char *p)
{
	return access(p, X_OK) == 0;
}

int rpd_verify_find(struct rpd *d, struct rp_err *e)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (d->cfg.verify_helper[0]) {
		if (!is_exe(d->cfg.verify_helper))
			return rp_err_errno(e, errno, "verify_helper %s",
					    d->cfg.verify_helper);
		memcpy(d->verify_helper, d->cfg.verify_helper,
		       sizeof(d->verify_helper));
		return 0;
	}
	/* Next to rampartd (a build directory, or an install that keeps
	 * both in one place), else where the build installed it. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash && snprintf(d->verify_helper, sizeof(d->verify_helper),
				      "%.*s/rampart-verify", (int)(slash - self),
				      self) < (int)sizeof(d->verify_helper) &&
		    is_exe(d->verify_helper))
			return 0;
	}
	if (snprintf(d->verify_helper, sizeof(d->verify_helper), "%s",
		     RP_LIBEXECDIR "/rampart-verify") < (int)sizeof(d->verify_helper) &&
	    is_exe(d->verify_helper))
		return 0;
	d->verify_helper[0] = '\0';
	return rp_err_set(e, RP_EINVAL, "rampart-verify not found next to rampartd "
			  "or in %s (set verify_helper in the config)", RP_LIBEXECDIR);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Exec the helper in the child: stdin /dev/null, stdout and stderr the
 * pipes, nothing else open, default signals, no environment. */
static void child(const char *path, char *const *argv, int out_w, int err_w)
{
	static char *const envp[] = { NULL };
	sigset_t none;
	int nul = open("/dev/null", O_RDONLY);

	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(125);
	if (close_range(3, ~0U, 0) < 0)
		_exit(125);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	execve(path, argv, envp);
	_exit(127);
}

/* Append what fd has to b, keeping at most cap bytes (the rest is read
 * and dropped so the helper never blocks on a full pipe). 1 at EOF. */
static int drain(int fd, struct rp_buf *b, size_t cap, int *over)
{
	uint8_t tmp[4096];
	ssize_t r = read(fd, tmp, sizeof(tmp));

	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (r == 0)
		return 1;
	if (b->len + (size_t)r > cap) {
		*over = 1;
		return 0;
	}
	return rp_buf_append(b, tmp, (size_t)r) ? (*over = 1, 0) : 0;
}

/* Run the helper with args (NULL-terminated, without argv[0]). On success
 * *out is its parsed JSON (or NULL when it printed nothing). */
static int run(struct rpd *d, const char *const *args, json_t **out,
	       struct rp_err *e)
{
	char *argv[ARGS_MAX + 2];
	struct rp_buf ob, eb;
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 };
	int rc = 0, status = 0, over = 0, eover = 0, oeof = 0, eeof = 0;
	int reaped = 0;
	uint64_t deadline = now_ms() + d->cfg.verify_timeout_ms;
	size_t i;
	pid_t pid = -1;

	*out = NULL;
	rp_buf_init(&ob, RPV_OUT_MAX);
	rp_buf_init(&eb, RPV_ERR_MAX + 1); /* + the NUL added below */
	argv[0] = d->verify_helper;
	for (i = 0; args[i]; i++) {
		if (i >= ARGS_MAX) {
			rc = rp_err_set(e, RP_ERANGE, "rampart-verify: too many arguments");
			goto out;
		}
		argv[i + 1] = (char *)(uintptr_t)args[i];
	}
	argv[i + 1] = NULL;
	if (!d->verify_helper[0]) {
		rc = rp_err_set(e, RP_EINVAL, "rampart-verify: no helper");
		goto out;
	}
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0) {
		rc = rp_err_errno(e, errno, "rampart-verify: pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = rp_err_errno(e, errno, "rampart-verify: fork");
		goto out;
	}
	if (pid == 0)
		child(argv[0], argv, opipe[1], epipe[1]);
	close(opipe[1]);
	close(epipe[1]);
	opipe[1] = epipe[1] = -1;
	while (!oeof || !eeof) {
		struct pollfd p[2] = {
			{ .fd = oeof ? -1 : opipe[0], .events = POLLIN },
			{ .fd = eeof ? -1 : epipe[0], .events = POLLIN },
		};
		uint64_t t = now_ms();

		if (t >= deadline)
			break;
		if (poll(p, 2, (int)(deadline - t > INT_MAX ? INT_MAX : deadline - t)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && drain(opipe[0], &ob, RPV_OUT_MAX, &over))
			oeof = 1;
		if (p[1].revents && drain(epipe[0], &eb, RPV_ERR_MAX, &eover))
			eeof = 1;
	}
	/* Both pipes closed: the helper is exiting. Wait what is left of
	 * the deadline for it, then kill it. */
	while (oeof && eeof && now_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR)) {
			reaped = r == pid;
			break;
		}
		if (r == 0) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = 2000000 };

			nanosleep(&ts, NULL);
		}
	}
	if (!reaped) {
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = rp_err_set(e, RP_EIO, "rampart-verify: no answer within %llu ms; "
				"killed", (unsigned long long)d->cfg.verify_timeout_ms);
		goto out;
	}
	if (!WIFEXITED(status)) {
		rc = rp_err_set(e, RP_EIO, "rampart-verify: killed by signal %d",
				WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		/* Relay its one line verbatim: the first line only, so that a
		 * sanitizer report or similar cannot flood the client. */
		char *nl;

		rc = rpv_code_from_status(WEXITSTATUS(status));
		if (eb.len == 0 || rp_buf_append(&eb, "", 1)) {
			rp_err_set(e, rc, "rampart-verify: exit status %d",
				   WEXITSTATUS(status));
			goto out;
		}
		nl = memchr(eb.data, '\n', eb.len);
		if (nl)
			*nl = '\0';
		rp_err_set(e, rc, "%s", (const char *)eb.data);
		goto out;
	}
	if (over) {
		rc = rp_err_set(e, RP_ERANGE, "rampart-verify: output over %d bytes",
				RPV_OUT_MAX);
		goto out;
	}
	if (ob.len > 0 && (rc = rp_json_parse(ob.data, ob.len, RPV_OUT_MAX, out, e))) {
		rp_err_prefix(e, "rampart-verify: output");
		goto out;
	}
	if (*out && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = rp_err_set(e, RP_EFORMAT, "rampart-verify: output: not an object");
	}
out:
	for (i = 0; i < 2; i++) {
		if (opipe[i] >= 0)
			close(opipe[i]);
		if (epipe[i] >= 0)
			close(epipe[i]);
	}
	rp_buf_free(&ob);
	rp_buf_free(&eb);
	return rc;
}

/* The typed readers of the helper's answer: a missing or mistyped field
 * is a format error, never a default. */
static int get_str(json_t *o, const char *key, char *out, size_t cap,
		   struct rp_err *e)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v))
		return rp_err_set(e, RP_EFORMAT, "rampart-verify: output: %s: "
				  "not a string", key);
	n = json_string_length(v);
	if (n >= cap || memchr(json_string_value(v), '\0', n))
		return rp_err_set(e, RP_EFORMAT, "rampart-verify: output: %s: "
				  "too long", key);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n,
		   struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) ||
	    rp_unhex(json_string_value(v), json_string_length(v), out, n))
		return rp_err_set(e, RP_EFORMAT, "rampart-verify: output: %s: "
				  "not %zu hex bytes", key, n);
	return 0;
}

static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *out,
		   struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return rp_err_set(e, RP_EFORMAT, "rampart-verify: output: %s: "
				  "not an integer up to %llu", key,
				  (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* The trust arguments: production keys always, development keys in
 * development. */
static int trust_args(struct rpd *d, int dev, const char **args, size_t *n,
		      char prod[PATH_MAX], char devdir[PATH_MAX],
		      struct rp_err *e)
{
	if (rpd_path(d, prod, PATH_MAX, "trust/production") ||
	    rpd_path(d, devdir, PATH_MAX, "trust/development"))
		return rp_err_set(e, RP_ERANGE, "state path too long");
	args[(*n)++] = "--production";
	args[(*n)++] = prod;
	if (d->cfg.production_trust_dir[0]) {
		args[(*n)++] = "--production";
		args[(*n)++] = d->cfg.production_trust_dir;
	}
	if (dev) {
		args[(*n)++] = "--development";
		args[(*n)++] = devdir;
	}
	return 0;
}

void rpd_image_free(struct rpd_image *img)
{
	rp_manifest_free(img->manifest);
	img->manifest = NULL;
	rp_buf_free(&img->manifest_text);
}

static int read_sigs(json_t *sigs, int *production, struct rp_err *e)
{
	static const char *const keys[] = { "key_id", "alg", "status", "trust", NULL };
	json_t *s;
	size_t i;
	int rc;

	*production = 0;
	if (!json_is_array(sigs) || json_array_size(sigs) > 64)
		return rp_err_set(e, RP_EFORMAT, "rampart-verify: output: signatures");
	json_array_foreach(sigs, i, s) {
		json_t *st = json_object_get(s, "status"), *tr = json_object_get(s, "trust");
		uint8_t kid[32];

		if (!json_is_object(s) ||
		    (rc = rp_json_only_keys(s, keys, "rampart-verify: output: signatures", e)) ||
		    (rc = get_hex(s, "key_id", kid, sizeof(kid), e)))
			return json_is_object(s) ? rc :
			       rp_err_set(e, RP_EFORMAT, "rampart-verify: output: signatures");
		if (!json_is_string(st) || (!json_is_null(tr) && !json_is_string(tr)))
			return rp_err_set(e, RP_EFORMAT, "rampart-verify: output: signatures");
		/* The helper decided which trusted key made each signature;
		 * key ids are public, so no constant-time compare is needed. */
		if (strcmp(json_string_value(st), "valid") == 0 && json_is_string(tr) &&
		    strcmp(json_string_value(tr), "production") == 0)
			*production = 1;
	}
	return 0;
}

int rpd_verify_image(struct rpd *d, const char *pkg, int dev,
		     struct rpd_image *img, struct rp_err *e)
{
	static const char *const keys[] = {
		"v", "type", "component_id", "image_id", "version",
		"security_version", "build_time", "payload_len", "signatures",
		"manifest", NULL,
	};
	const char *args[ARGS_MAX + 1];
	char prod[PATH_MAX], devdir[PATH_MAX];
	json_t *o = NULL, *m;
	uint64_t n;
	size_t na = 0;
	int rc;

	memset(img, 0, sizeof(*img));
	rp_buf_init(&img->manifest_text, RP_MANIFEST_MAX);
	args[na++] = "image";
	if ((rc = trust_args(d, dev, args, &na, prod, devdir, e)))
		goto out;
	args[na++] = pkg;
	args[na] = NULL;
	if ((rc = run(d, args, &o, e)))
		goto out;
	if (!o) {
		rc = rp_err_set(e, RP_EFORMAT, "rampart-verify: no output");
		goto out;
	}
	if ((rc = rp_json_only_keys(o, keys, "rampart-verify: output", e)) ||
	    (rc = get_u64(o, "v", 1, &n, e)) ||
	    (rc = get_str(o, "type", img->pkg.type, sizeof(img->pkg.type), e)) ||
	    (rc = get_hex(o, "component_id", img->pkg.component_id, 16, e)) ||
	    (rc = get_hex(o, "image_id", img->pkg.image_id, 16, e)) ||
	    (rc = get_str(o, "version", img->pkg.version, sizeof(img->pkg.version), e)) ||
	    (rc = get_u64(o, "security_version", UINT32_MAX, &n, e)))
		goto out;
	img->pkg.security_version = (uint32_t)n;
	if ((rc = read_sigs(json_object_get(o, "signatures"), &img->pkg.production, e)))
		goto out;
	m = json_object_get(o, "manifest");
	if (json_is_null(m))
		goto out;
	if (!json_is_string(m) || json_string_length(m) > RP_MANIFEST_MAX) {
		rc = rp_err_set(e, RP_EFORMAT, "rampart-verify: output: manifest");
		goto out;
	}
	/* The helper verified these bytes; parsing them again here (pure
	 * JSON, no crypto) gives rampartd its own struct rp_manifest. */
	if ((rc = rp_buf_append(&img->manifest_text, json_string_value(m),
				json_string_length(m))) ||
	    (rc = rp_manifest_parse(img->manifest_text.data, img->manifest_text.len,
				    &img->manifest, e))) {
		rp_err_prefix(e, "manifest");
		goto out;
	}
	if (memcmp(img->manifest->component_id, img->pkg.component_id, 16) != 0)
		rc = rp_err_set(e, RP_EPOLICY, "manifest ComponentId %s does not match "
				"the signed header", img->manifest->component_id_text);
out:
	json_decref(o);
	if (rc)
		rpd_image_free(img);
	return rc;
}

int rpd_verify_extract(struct rpd *d, const char *pkg, int dev,
		       const char *dest, struct rp_err *e)
{
	const char *args[ARGS_MAX + 1];
	char prod[PATH_MAX], devdir[PATH_MAX];
	json_t *o = NULL;
	size_t na = 0;
	int rc;

	args[na++] = "extract";
	if ((rc = trust_args(d, dev, args, &na, prod, devdir, e)))
		return rc;
	args[na++] = pkg;
	args[na++] = dest;
	args[na] = NULL;
	rc = run(d, args, &o, e);
	if (rc == 0 && o)
		rc = rp_err_set(e, RP_EFORMAT, "rampart-verify: unexpected output");
	json_decref(o);
	return rc;
}

int rpd_verify_device_key(struct rpd *d, int *generated, struct rp_err *e)
{
	static const char *const keys[] = { "device_id", "generated", NULL };
	const char *args[] = { "device-key", d->state_dir, NULL };
	uint8_t id[32];
	json_t *o = NULL, *g;
	int rc;

	if ((rc = run(d, args, &o, e)))
		goto out;
	g = json_object_get(o, "generated");
	if (!o || (rc = rp_json_only_keys(o, keys, "rampart-verify: output", e)) ||
	    (rc = get_hex(o, "device_id", id, sizeof(id), e)) ||
	    !json_is_boolean(g)) {
		rc = rc ? rc : rp_err_set(e, RP_EFORMAT, "rampart-verify: output: "
					  "device_id, generated");
		goto out;
	}
	rp_hex(id, sizeof(id), d->device_id);
	*generated = json_is_true(g);
out:
	json_decref(o);
	return rc;
}

int rpd_verify_key_id(struct rpd *d, const char *pem_path, char kid_hex[65],
		      struct rp_buf *pem, struct rp_err *e)
{
	static const char *const keys[] = { "key_id", "pem", NULL };
	const char *args[] = { "key-id", pem_path, NULL };
	uint8_t id[32];
	json_t *o = NULL, *p;
	int rc;

	rp_buf_init(pem, RPV_PEM_MAX);
	if ((rc = run(d, args, &o, e)))
		goto out;
	p = json_object_get(o, "pem");
	if (!o || (rc = rp_json_only_keys(o, keys, "rampart-verify: output", e)) ||
	    (rc = get_hex(o, "key_id", id, sizeof(id), e)) ||
	    !json_is_string(p) || json_string_length(p) > RPV_PEM_MAX) {
		rc = rc ? rc : rp_err_set(e, RP_EFORMAT, "rampart-verify: output: pem");
		goto out;
	}
	rp_hex(id, sizeof(id), kid_hex);
	if ((rc = rp_buf_append(pem, json_string_value(p), json_string_length(p))))
		rp_err_set(e, rc, "out of memory");
out:
	json_decref(o);
	if (rc)
		rp_buf_free(pem);
	return rc;
}
