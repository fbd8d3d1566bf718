/* Spawning and calling rampart-signer. */
#include "ca/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"

#define CHILD_FD 3

int rp_signer_client_fd(int fd, pid_t pid, struct rp_signer_client **out,
			struct rp_err *e)
{
	struct rp_signer_client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->pid = pid;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child(int fd, char *const *argv, pid_t parent)
{
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	if (fd == CHILD_FD) {
		if (fcntl(fd, F_SETFD, 0) < 0)
			_exit(127);
	} else if (dup2(fd, CHILD_FD) < 0) {
		_exit(127);
	}
	/* Nothing of the server's crosses into the signer but fd 0-3. */
	if (syscall(SYS_close_range, CHILD_FD + 1, ~0U, 0) < 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

int rp_signer_spawn(const char *binary, const char *keydir,
		    struct rp_signer_client **out, struct rp_err *e)
{
	char a_keydir[] = "--keydir", a_fd[] = "--fd", a_three[] = "3";
	char *bin = NULL, *dir = NULL;
	pid_t parent = getpid(), pid;
	int sv[2] = { -1, -1 };
	int rc;

	if (!binary || !keydir || !*binary || !*keydir)
		return rp_err_set(e, RP_EUSAGE, "signer: binary and key directory needed");
	/* argv is built before fork: the child may not allocate. */
	bin = strdup(binary);
	dir = strdup(keydir);
	if (!bin || !dir) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = rp_err_errno(e, errno, "signer: socketpair");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = rp_err_errno(e, errno, "signer: fork");
		goto out;
	}
	if (pid == 0) {
		char *argv[] = { bin, a_keydir, dir, a_fd, a_three, NULL };

		close(sv[0]);
		child(sv[1], argv, parent);
	}
	close(sv[1]);
	sv[1] = -1;
	rc = rp_signer_client_fd(sv[0], pid, out, e);
	sv[0] = -1;
	if (rc) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(bin);
	free(dir);
	return rc;
}

void rp_signer_close(struct rp_signer_client *c)
{
	int status;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->pid > 0) {
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int raw(struct rp_signer_client *c, const void *req, size_t len,
	       struct rp_buf *resp, struct rp_err *e)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	uint8_t *buf = NULL;
	ssize_t n;
	int rc;

	rp_buf_init(resp, RP_SIGNER_RESP_MAX);
	do
		n = send(c->fd, req, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return rp_err_errno(e, errno, "signer: send");
	do
		rc = poll(&p, 1, RP_SIGNER_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return rp_err_errno(e, errno, "signer: poll");
	if (rc == 0)
		return rp_err_set(e, RP_EIO, "signer: no reply in %d ms",
				  RP_SIGNER_TIMEOUT_MS);
	buf = malloc(RP_SIGNER_RESP_MAX + 1);
	if (!buf)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	do
		n = recv(c->fd, buf, RP_SIGNER_RESP_MAX + 1, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = rp_err_errno(e, errno, "signer: recv");
	else if (n == 0)
		rc = rp_err_set(e, RP_EIO, "signer: closed the connection");
	else if ((size_t)n > RP_SIGNER_RESP_MAX)
		rc = rp_err_set(e, RP_ERANGE, "signer: response over %d bytes",
				RP_SIGNER_RESP_MAX);
	else if (memmem(buf, (size_t)n, "PRIVATE KEY", 11))
		rc = rp_err_set(e, RP_EPOLICY, "signer: response holds a private key; refused");
	else
		rc = rp_buf_append(resp, buf, (size_t)n);
	free(buf);
	if (rc)
		rp_buf_free(resp);
	return rc;
}

int rp_signer_raw(struct rp_signer_client *c, const void *req, size_t len,
		  struct rp_buf *resp, struct rp_err *e)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = raw(c, req, len, resp, e);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Encode r, call, decode: *result is the result object on success. */
static int call(struct rp_signer_client *c, const struct rp_signer_req *r,
		json_t **result, struct rp_err *e)
{
	struct rp_buf req = { 0 }, resp = { 0 };
	int rc;

	*result = NULL;
	rc = rp_signer_req_encode(r, &req, e);
	if (!rc)
		rc = rp_signer_raw(c, req.data, req.len, &resp, e);
	if (!rc)
		rc = rp_signer_resp_decode(resp.data, resp.len, result, e);
	rp_buf_free(&req);
	rp_buf_free(&resp);
	return rc;
}

static struct rp_signer_req *new_req(enum rp_signer_op op, const char *tenant,
				     struct rp_err *e)
{
	struct rp_signer_req *r;
	size_t len = tenant ? strnlen(tenant, RP_TENANT_MAX + 1) : 0;

	if (!tenant || rp_tenant_check(tenant, len, e))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rp_err_set(e, RP_ENOMEM, "out of memory");
		return NULL;
	}
	r->op = op;
	memcpy(r->tenant, tenant, len);
	return r;
}

static int get_int(json_t *o, const char *key, int64_t min, int64_t max,
		   int64_t *out, struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return rp_err_set(e, RP_EFORMAT, "signer response: %s", key);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int get_text(json_t *o, const char *key, size_t cap, struct rp_buf *out,
		    struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	rp_buf_init(out, cap);
	if (!json_is_string(v) ||
	    rp_buf_append(out, json_string_value(v), json_string_length(v)) ||
	    rp_buf_cstr(out)) {
		rp_buf_free(out);
		return rp_err_set(e, RP_EFORMAT, "signer response: %s", key);
	}
	return 0;
}

static int get_hex(json_t *o, const char *key, char *out, size_t digits,
		   struct rp_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) != digits ||
	    strspn(json_string_value(v), "0123456789abcdef") != digits)
		return rp_err_set(e, RP_EFORMAT, "signer response: %s", key);
	memcpy(out, json_string_value(v), digits + 1);
	return 0;
}

static int get_ca(json_t *o, struct rp_signer_ca *out, struct rp_err *e)
{
	int64_t gen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return rp_err_set(e, RP_EFORMAT, "signer response: CA");
	rc = get_int(o, "generation", 1, RP_SIGNER_GEN_MAX, &gen, e);
	if (!rc)
		rc = get_int(o, "not_before", 0, RP_SIGNER_TIME_MAX,
			     &out->not_before, e);
	if (!rc)
		rc = get_int(o, "not_after", 0, RP_SIGNER_TIME_MAX,
			     &out->not_after, e);
	if (!rc)
		rc = get_text(o, "certificate", RP_CERT_PEM_MAX, &out->pem, e);
	out->generation = (unsigned)gen;
	return rc;
}

void rp_signer_ca_free(struct rp_signer_ca *ca)
{
	if (ca)
		rp_buf_free(&ca->pem);
}

int rp_signer_create_ca(struct rp_signer_client *c, const char *tenant,
			struct rp_signer_ca *out, struct rp_err *e)
{
	struct rp_signer_req *r = new_req(RP_SIGNER_CREATE_CA, tenant, e);
	json_t *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!r)
		return e ? e->code : RP_EINVAL;
	rc = call(c, r, &res, e);
	if (!rc)
		rc = get_ca(res, out, e);
	json_decref(res);
	free(r);
	return rc;
}

int rp_signer_ca_cert(struct rp_signer_client *c, const char *tenant,
		      struct rp_signer_ca out[RP_CHAIN_CAS_MAX], size_t *n,
		      struct rp_err *e)
{
	struct rp_signer_req *r = new_req(RP_SIGNER_CA_CERT, tenant, e);
	json_t *res = NULL, *arr;
	size_t i, k = 0;
	int rc;

	*n = 0;
	if (!r)
		return e ? e->code : RP_EINVAL;
	rc = call(c, r, &res, e);
	if (rc)
		goto out;
	arr = json_object_get(res, "certificates");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > RP_CHAIN_CAS_MAX) {
		rc = rp_err_set(e, RP_EFORMAT, "signer response: certificates");
		goto out;
	}
	for (k = 0; k < json_array_size(arr); k++) {
		rc = get_ca(json_array_get(arr, k), &out[k], e);
		if (rc)
			break;
	}
	if (rc) {
		for (i = 0; i <= k && i < RP_CHAIN_CAS_MAX; i++)
			rp_signer_ca_free(&out[i]);
		goto out;
	}
	*n = k;
out:
	json_decref(res);
	free(r);
	return rc;
}

int rp_signer_issue(struct rp_signer_client *c, const char *tenant,
		    const char *csr, size_t len, int64_t not_before,
		    int64_t not_after, struct rp_signer_cert *out,
		    struct rp_err *e)
{
	struct rp_signer_req *r = new_req(RP_SIGNER_ISSUE, tenant, e);
	json_t *res = NULL;
	int64_t gen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!r)
		return e ? e->code : RP_EINVAL;
	if (!csr || len == 0 || len > RP_CSR_PEM_MAX) {
		rc = rp_err_set(e, RP_ERANGE, "CSR: 1 to %d bytes", RP_CSR_PEM_MAX);
		goto out;
	}
	memcpy(r->csr, csr, len);
	r->csr_len = len;
	r->not_before = not_before;
	r->not_after = not_after;
	rc = call(c, r, &res, e);
	if (rc)
		goto out;
	if ((rc = get_text(res, "certificate", RP_CERT_PEM_MAX, &out->pem, e)) ||
	    (rc = get_hex(res, "serial", out->serial, RP_SERIAL_LEN * 2, e)) ||
	    (rc = get_hex(res, "device_id", out->device_id,
			  RP_DEVICE_ID_HEX - 1, e)) ||
	    (rc = get_int(res, "generation", 1, RP_SIGNER_GEN_MAX, &gen, e)) ||
	    (rc = get_int(res, "not_before", 0, RP_SIGNER_TIME_MAX,
			  &out->not_before, e)) ||
	    (rc = get_int(res, "not_after", 0, RP_SIGNER_TIME_MAX,
			  &out->not_after, e))) {
		rp_signer_cert_free(out);
		goto out;
	}
	out->generation = (unsigned)gen;
out:
	json_decref(res);
	free(r);
	return rc;
}

void rp_signer_cert_free(struct rp_signer_cert *cert)
{
	if (cert)
		rp_buf_free(&cert->pem);
}

int rp_signer_revoke(struct rp_signer_client *c, const char *tenant,
		     const char *serial_hex, int64_t *revoked_at,
		     struct rp_err *e)
{
	struct rp_signer_req *r = new_req(RP_SIGNER_REVOKE, tenant, e);
	json_t *res = NULL;
	int64_t at = 0;
	int rc;

	if (!r)
		return e ? e->code : RP_EINVAL;
	if (!serial_hex || strnlen(serial_hex, RP_SERIAL_HEX) != RP_SERIAL_LEN * 2 ||
	    strspn(serial_hex, "0123456789abcdef") != RP_SERIAL_LEN * 2 ||
	    rp_unhex(serial_hex, RP_SERIAL_LEN * 2, r->serial, RP_SERIAL_LEN)) {
		rc = rp_err_set(e, RP_EINVAL, "serial: not %d lower-case hex digits",
				RP_SERIAL_LEN * 2);
		goto out;
	}
	rc = call(c, r, &res, e);
	if (!rc)
		rc = get_int(res, "revoked_at", 0, RP_SIGNER_TIME_MAX, &at, e);
	if (!rc && revoked_at)
		*revoked_at = at;
out:
	json_decref(res);
	free(r);
	return rc;
}

int rp_signer_crl(struct rp_signer_client *c, const char *tenant,
		  struct rp_buf *out, struct rp_err *e)
{
	struct rp_signer_req *r = new_req(RP_SIGNER_CRL, tenant, e);
	json_t *res = NULL, *arr, *v;
	size_t i;
	int rc;

	rp_buf_init(out, RP_SIGNER_RESP_MAX);
	if (!r)
		return e ? e->code : RP_EINVAL;
	rc = call(c, r, &res, e);
	if (rc)
		goto out;
	arr = json_object_get(res, "crls");
	if (!json_is_array(arr) || json_array_size(arr) > RP_CHAIN_CAS_MAX) {
		rc = rp_err_set(e, RP_EFORMAT, "signer response: crls");
		goto out;
	}
	json_array_foreach(arr, i, v) {
		json_t *pem = json_object_get(v, "crl");

		if (!json_is_string(pem) ||
		    rp_buf_append(out, json_string_value(pem),
				  json_string_length(pem)) ||
		    rp_buf_cstr(out)) {
			rc = rp_err_set(e, RP_EFORMAT, "signer response: crl");
			break;
		}
	}
out:
	if (rc)
		rp_buf_free(out);
	json_decref(res);
	free(r);
	return rc;
}

void rp_signer_image_key_free(struct rp_signer_image_key *k)
{
	if (k)
		rp_buf_free(&k->pem);
}

static int ed_key(struct rp_signer_client *c, enum rp_signer_op op,
		  const char *tenant, struct rp_signer_image_key *out,
		  struct rp_err *e)
{
	struct rp_signer_req *r = new_req(op, tenant, e);
	json_t *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!r)
		return e ? e->code : RP_EINVAL;
	rc = call(c, r, &res, e);
	if (!rc)
		rc = get_hex(res, "key_id", out->key_id, RP_KEYID_LEN * 2, e);
	if (!rc)
		rc = get_text(res, "public_key", 4096, &out->pem, e);
	if (!rc && !strstr((const char *)out->pem.data, "PUBLIC KEY")) {
		rp_signer_image_key_free(out);
		rc = rp_err_set(e, RP_EFORMAT, "signer response: public_key");
	}
	json_decref(res);
	free(r);
	return rc;
}

int rp_signer_image_key(struct rp_signer_client *c, const char *tenant,
			struct rp_signer_image_key *out, struct rp_err *e)
{
	return ed_key(c, RP_SIGNER_IMAGE_KEY, tenant, out, e);
}

int rp_signer_targets_key(struct rp_signer_client *c, const char *tenant,
			  struct rp_signer_image_key *out, struct rp_err *e)
{
	return ed_key(c, RP_SIGNER_TARGETS_KEY, tenant, out, e);
}

/* The signature and key id of a sign-* response. */
static int get_sig(json_t *res, uint8_t *sig, size_t *len,
		   uint8_t key_id[RP_KEYID_LEN], struct rp_err *e)
{
	char hex[RP_KEYID_LEN * 2 + 1], shex[64 * 2 + 1];
	int rc = get_hex(res, "key_id", hex, RP_KEYID_LEN * 2, e);

	if (!rc)
		rc = get_hex(res, "signature", shex, 64 * 2, e);
	if (!rc && (rp_unhex(hex, RP_KEYID_LEN * 2, key_id, RP_KEYID_LEN) ||
		    rp_unhex(shex, 128, sig, 64)))
		rc = rp_err_set(e, RP_EFORMAT, "signer response: signature");
	if (!rc)
		*len = 64;
	return rc;
}

int rp_signer_sign_targets(struct rp_signer_client *c, const char *tenant,
			   const uint8_t *region, size_t region_len,
			   uint8_t *sig, size_t *len,
			   uint8_t key_id[RP_KEYID_LEN], struct rp_err *e)
{
	struct rp_signer_req *r;
	json_t *res = NULL;
	int rc;

	*len = 0;
	if (region_len == 0 || region_len > RP_SIGNER_REGION_MAX)
		return rp_err_set(e, RP_ERANGE, "targets: region of %zu bytes (1 to %d)",
				  region_len, RP_SIGNER_REGION_MAX);
	r = new_req(RP_SIGNER_SIGN_TARGETS, tenant, e);
	if (!r)
		return e ? e->code : RP_EINVAL;
	memcpy(r->region, region, region_len);
	r->region_len = region_len;
	rc = call(c, r, &res, e);
	if (!rc)
		rc = get_sig(res, sig, len, key_id, e);
	json_decref(res);
	free(r);
	return rc;
}

int rp_signer_sign_image(struct rp_signer_client *c, const char *tenant,
			 const uint8_t header[RP_SIGNER_HEADER_LEN],
			 uint8_t *sig, size_t *len,
			 uint8_t key_id[RP_KEYID_LEN], struct rp_err *e)
{
	struct rp_signer_req *r = new_req(RP_SIGNER_SIGN_IMAGE, tenant, e);
	json_t *res = NULL;
	int rc;

	*len = 0;
	if (!r)
		return e ? e->code : RP_EINVAL;
	memcpy(r->header, header, RP_SIGNER_HEADER_LEN);
	rc = call(c, r, &res, e);
	if (!rc)
		rc = get_sig(res, sig, len, key_id, e);
	json_decref(res);
	free(r);
	return rc;
}
