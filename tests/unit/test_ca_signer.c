/* Unit and process tests for lib/ca: the signer's operations at a pinned
 * clock (issue, rollover, revoke, CRL), its refusal of malformed requests
 * (and that it keeps serving), that no response carries key material,
 * the key directory's modes, the spawned rampart-signer through the
 * client API, and interop with the openssl CLI (tests/ca/interop.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "ca/client.h"
#include "ca/signer.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "format/manifest.h"
#include "format/sigblock.h"
#include "format/targets.h"

#define T0 1767225600LL /* 2026-01-01T00:00:00Z */
#define DAY 86400LL

struct fx {
	char dir[64];
	struct rp_signer s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rp_signer_cfg cfg = { 0 };
	struct rp_err e;

	assert_non_null(f);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/rp-signer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	cfg.keydir = f->dir;
	cfg.fixed_now = T0;
	assert_int_equal(rp_signer_open(&f->s, &cfg, &e), 0);
	*state = f;
	return 0;
}

static void rm_rf(const char *dir)
{
	char cmd[256];

	assert_true(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < (int)sizeof(cmd));
	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rp_signer_release(&f->s);
	rm_rf(f->dir);
	free(f);
	return 0;
}

/* Send text to the in-process signer; returns the decoded result or NULL
 * (error code and message in *e). Asserts the response is well-formed and
 * carries no private key. */
static json_t *call(struct fx *f, const char *text, struct rp_err *e)
{
	struct rp_buf resp;
	json_t *res = NULL;

	assert_int_equal(rp_signer_handle(&f->s, (const uint8_t *)text,
					  strlen(text), &resp), 0);
	assert_true(resp.len > 0 && resp.len <= RP_SIGNER_RESP_MAX);
	assert_null(memmem(resp.data, resp.len, "PRIVATE", 7));
	rp_err_clear(e);
	/* A refusal is the signer's, never a malformed response. */
	if (rp_signer_resp_decode(resp.data, resp.len, &res, e))
		assert_true(e->code < 0 && strncmp(e->msg, "signer: ", 8) == 0);
	rp_buf_free(&resp);
	return res;
}

static json_t *callf(struct fx *f, struct rp_err *e, const char *fmt, ...)
	RP_PRINTF(3, 4);
static json_t *callf(struct fx *f, struct rp_err *e, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	json_t *res;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) > 0);
	va_end(ap);
	res = call(f, text, e);
	free(text);
	return res;
}

/* JSON-escape a PEM's newlines for a hand-written request. */
static char *esc(const struct rp_buf *pem)
{
	char *out = malloc(pem->len * 2 + 1), *p = out;
	size_t i;

	assert_non_null(out);
	for (i = 0; i < pem->len; i++) {
		if (pem->data[i] == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else {
			*p++ = (char)pem->data[i];
		}
	}
	*p = 0;
	return out;
}

static struct rp_cert *cert_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	struct rp_cert *c = NULL;
	struct rp_err e;

	assert_true(json_is_string(v));
	assert_int_equal(rp_cert_load_pem((const uint8_t *)json_string_value(v),
					  json_string_length(v), &c, &e), 0);
	return c;
}

static void mode_is(const char *path, unsigned mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

/* Every byte of the private key file stays out of a response: check the
 * key's base64 body is not in text. */
static void key_not_in(const char *keypath, const char *text)
{
	struct rp_buf k;
	struct rp_err e;
	char line[65];
	const char *p, *nl;

	assert_int_equal(rp_file_read(keypath, 65536, &k, &e), 0);
	assert_int_equal(rp_buf_cstr(&k), 0);
	p = strchr((char *)k.data, '\n') + 1; /* past BEGIN */
	while ((nl = strchr(p, '\n')) && strncmp(p, "-----END", 8) != 0) {
		size_t n = (size_t)(nl - p);

		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = 0;
		if (n >= 16)
			assert_null(strstr(text, line));
		p = nl + 1;
	}
	rp_buf_free_wipe(&k);
}

static void lifecycle(void **state)
{
	struct fx *f = *state;
	char path[256], *csr_js;
	struct rp_key *dev = NULL;
	struct rp_cert *ca = NULL, *ca2 = NULL, *leaf = NULL, *leaf2 = NULL;
	struct rp_buf csr;
	struct rp_err e;
	json_t *res, *arr;
	char *dump;
	uint8_t revoked[1][RP_SERIAL_LEN];
	struct rp_cert *cas[2];

	/* First generation; key 0600, directories 0700. */
	res = callf(f, &e, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "generation")), 1);
	ca = cert_of(res, "certificate");
	dump = json_dumps(res, 0);
	snprintf(path, sizeof(path), "%s/acme/ca-1.key", f->dir);
	key_not_in(path, dump);
	free(dump);
	json_decref(res);
	mode_is(f->dir, 0700);
	snprintf(path, sizeof(path), "%s/acme", f->dir);
	mode_is(path, 0700);
	snprintf(path, sizeof(path), "%s/acme/ca-1.key", f->dir);
	mode_is(path, 0600);
	snprintf(path, sizeof(path), "%s/acme/ca-1.pem", f->dir);
	mode_is(path, 0600);

	/* Too early for a second generation. */
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"acme\"}"));
	assert_int_equal(e.code, RP_EPOLICY);

	/* Issue for a device, 24 h from the pinned clock. */
	assert_int_equal(rp_key_generate(RP_KEY_P256, &dev, &e), 0);
	assert_int_equal(rp_csr_create(dev, &csr, &e), 0);
	csr_js = esc(&csr);
	res = callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\","
		    "\"csr\":\"%s\",\"not_before\":%lld,\"not_after\":%lld}",
		    csr_js, T0, T0 + DAY);
	assert_non_null(res);
	leaf = cert_of(res, "certificate");
	cas[0] = ca;
	{
		char id[RP_DEVICE_ID_HEX], want[RP_DEVICE_ID_HEX];

		rp_hex(rp_key_id(dev), RP_KEYID_LEN, want);
		assert_int_equal(rp_cert_verify_device(leaf, cas, 1, NULL, 0,
						       T0 + 60, id, &e), 0);
		assert_string_equal(id, want);
		assert_string_equal(json_string_value(json_object_get(res,
				"device_id")), want);
	}
	dump = json_dumps(res, 0);
	snprintf(path, sizeof(path), "%s/acme/ca-1.key", f->dir);
	key_not_in(path, dump);
	free(dump);
	assert_int_equal(rp_unhex(json_string_value(json_object_get(res, "serial")),
				  RP_SERIAL_LEN * 2, revoked[0], RP_SERIAL_LEN), 0);

	/* Revoke it; twice is fine; the CRL names it; verify refuses it. */
	{
		json_t *r2;

		r2 = callf(f, &e, "{\"v\":1,\"op\":\"revoke\",\"tenant\":\"acme\","
			   "\"serial\":\"%s\"}",
			   json_string_value(json_object_get(res, "serial")));
		assert_non_null(r2);
		json_decref(r2);
		r2 = callf(f, &e, "{\"v\":1,\"op\":\"revoke\",\"tenant\":\"acme\","
			   "\"serial\":\"%s\"}",
			   json_string_value(json_object_get(res, "serial")));
		assert_non_null(r2);
		assert_int_equal(json_integer_value(json_object_get(r2, "revoked_at")), T0);
		json_decref(r2);
		r2 = callf(f, &e, "{\"v\":1,\"op\":\"crl\",\"tenant\":\"acme\"}");
		assert_non_null(r2);
		assert_int_equal(json_array_size(json_object_get(r2, "crls")), 1);
		json_decref(r2);
		assert_int_equal(rp_cert_verify_device(leaf, cas, 1,
				(const uint8_t (*)[RP_SERIAL_LEN])revoked, 1,
				T0 + 60, NULL, &e), RP_EUNTRUSTED);
	}
	json_decref(res);

	/* A window over the configured maximum, or far from the clock. */
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\","
			  "\"csr\":\"%s\",\"not_before\":%lld,\"not_after\":%lld}",
			  csr_js, T0, T0 + 8 * DAY));
	assert_int_equal(e.code, RP_ERANGE);
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\","
			  "\"csr\":\"%s\",\"not_before\":%lld,\"not_after\":%lld}",
			  csr_js, T0 + 30 * DAY, T0 + 31 * DAY));
	assert_int_equal(e.code, RP_ERANGE);
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\","
			  "\"csr\":\"%s\",\"not_before\":%lld,\"not_after\":%lld}",
			  csr_js, T0, T0));
	assert_int_equal(e.code, RP_ERANGE);
	/* Another tenant has no CA. */
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"other\","
			  "\"csr\":\"%s\",\"not_before\":%lld,\"not_after\":%lld}",
			  csr_js, T0, T0 + DAY));
	assert_int_equal(e.code, RP_EPOLICY);

	/* Rollover: 80 days before the end, a second generation; both are
	 * listed; new certificates come from the new one; old ones still
	 * verify against the pair. */
	f->s.cfg.fixed_now = T0 + 730 * DAY - 80 * DAY;
	res = callf(f, &e, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "generation")), 2);
	ca2 = cert_of(res, "certificate");
	json_decref(res);
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"acme\"}"));
	res = callf(f, &e, "{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	arr = json_object_get(res, "certificates");
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0),
				"generation")), 2);
	json_decref(res);
	res = callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\","
		    "\"csr\":\"%s\",\"not_before\":%lld,\"not_after\":%lld}",
		    csr_js, (long long)f->s.cfg.fixed_now,
		    (long long)(f->s.cfg.fixed_now + DAY));
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "generation")), 2);
	leaf2 = cert_of(res, "certificate");
	json_decref(res);
	cas[0] = ca2;
	cas[1] = ca;
	assert_int_equal(rp_cert_verify_device(leaf2, cas, 2, NULL, 0,
					       f->s.cfg.fixed_now + 1, NULL, &e), 0);
	assert_int_equal(rp_cert_verify_device(leaf2, cas + 1, 1, NULL, 0,
					       f->s.cfg.fixed_now + 1, NULL, &e),
			 RP_EUNTRUSTED);
	res = callf(f, &e, "{\"v\":1,\"op\":\"crl\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	assert_int_equal(json_array_size(json_object_get(res, "crls")), 2);
	json_decref(res);
	/* After generation 1 expires, ca-cert lists only generation 2. */
	f->s.cfg.fixed_now = T0 + 731 * DAY;
	res = callf(f, &e, "{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	assert_int_equal(json_array_size(json_object_get(res, "certificates")), 1);
	json_decref(res);

	free(csr_js);
	rp_buf_free(&csr);
	rp_cert_free(leaf2);
	rp_cert_free(leaf);
	rp_cert_free(ca2);
	rp_cert_free(ca);
	rp_key_free(dev);
}

static void malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"null",
		"{}",
		"{\"v\":2,\"op\":\"ca-cert\",\"tenant\":\"acme\"}",
		"{\"v\":\"1\",\"op\":\"ca-cert\",\"tenant\":\"acme\"}",
		"{\"v\":1,\"op\":\"sign-anything\",\"tenant\":\"acme\"}",
		"{\"v\":1,\"op\":\"ca-cert\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"../acme\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"Acme\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"-acme\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme/x\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"ac\\u0000me\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\",\"extra\":1}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\",\"csr\":\"x\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\",\"tenant\":\"b\"}",
		"{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\"}",
		"{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\",\"csr\":\"x\",\"not_before\":-1,\"not_after\":5}",
		"{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\",\"csr\":\"x\",\"not_before\":1.5,\"not_after\":5}",
		"{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\",\"csr\":\"x\",\"not_before\":1,\"not_after\":99999999999999}",
		"{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\",\"csr\":\"not a csr\",\"not_before\":1767225600,\"not_after\":1767229200}",
		"{\"v\":1,\"op\":\"revoke\",\"tenant\":\"acme\",\"serial\":\"00\"}",
		"{\"v\":1,\"op\":\"revoke\",\"tenant\":\"acme\",\"serial\":\"4ABCDEF0123456789ABCDEF012345678\"}",
		"{\"v\":1,\"op\":\"revoke\",\"tenant\":\"acme\",\"serial\":\"4abcdef0123456789abcdef01234567g\"}",
		"{\"v\":1,\"op\":\"revoke\",\"tenant\":\"acme\"}",
		"{\"v\":1,\"op\":\"crl\",\"tenant\":\"nobody\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"nobody\"}",
		"{\"v\":1,\"op\":\"revoke\",\"tenant\":\"nobody\",\"serial\":\"4abcdef0123456789abcdef012345678\"}",
		"{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\"} x",
	};
	struct fx *f = *state;
	struct rp_buf csr, big;
	struct rp_err e;
	json_t *res;
	size_t i;
	char *js;

	res = callf(f, &e, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	json_decref(res);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		res = call(f, bad[i], &e);
		if (res)
			fail_msg("accepted: %s", bad[i]);
		assert_true(e.code < 0);
	}
	/* CSR vectors: bad signature, RSA, P-384, SHA-1, each refused. */
	{
		static const char *const names[] = { "bad-signature.csr", "rsa.csr",
						     "p384.csr", "sha1.csr" };
		char path[512];

		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/tests/ca/data/%s",
				 getenv("RP_SRCDIR"), names[i]);
			assert_int_equal(rp_file_read(path, 65536, &csr, &e), 0);
			js = esc(&csr);
			res = callf(f, &e, "{\"v\":1,\"op\":\"issue\",\"tenant\":\"acme\","
				    "\"csr\":\"%s\",\"not_before\":%lld,"
				    "\"not_after\":%lld}", js, T0, T0 + DAY);
			assert_null(res);
			assert_true(e.code == RP_EVERIFY || e.code == RP_EPOLICY);
			free(js);
			rp_buf_free(&csr);
		}
	}
	/* Oversized request. */
	rp_buf_init(&big, RP_SIGNER_REQ_MAX + 64);
	{
		static const char head[] = "{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\",\"x\":\"";

		assert_int_equal(rp_buf_append(&big, head, sizeof(head) - 1), 0);
	}
	while (big.len < RP_SIGNER_REQ_MAX + 8)
		assert_int_equal(rp_buf_append(&big, "a", 1), 0);
	assert_int_equal(rp_buf_append(&big, "\"}", 2), 0);
	assert_int_equal(rp_buf_cstr(&big), 0);
	assert_null(call(f, (char *)big.data, &e));
	assert_int_equal(e.code, RP_ERANGE);
	rp_buf_free(&big);
	/* And it still serves. */
	res = callf(f, &e, "{\"v\":1,\"op\":\"ca-cert\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	json_decref(res);
}

static void keydir_modes(void **state)
{
	struct fx *f = *state;
	struct rp_signer_cfg cfg = { 0 };
	struct rp_signer s2;
	char path[256];
	struct rp_err e;
	json_t *res;

	cfg.keydir = f->dir;
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(rp_signer_open(&s2, &cfg, &e), RP_EPOLICY);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(rp_signer_open(&s2, &cfg, &e), 0);
	/* A key file others can read is refused, not used. */
	res = callf(f, &e, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"acme\"}");
	assert_non_null(res);
	json_decref(res);
	snprintf(path, sizeof(path), "%s/acme/ca-1.key", f->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(callf(f, &e, "{\"v\":1,\"op\":\"crl\",\"tenant\":\"acme\"}"));
	assert_int_equal(e.code, RP_EPOLICY);
	assert_int_equal(chmod(path, 0600), 0);
	/* Inconsistent lifetimes are refused. */
	cfg.max_validity = 100 * DAY;
	assert_int_equal(rp_signer_open(&s2, &cfg, &e), RP_EUSAGE);
}

static const char *signer_bin(void)
{
	const char *b = getenv("RP_SIGNER");

	assert_non_null(b);
	return b;
}

/* The real process through the client API, on the real clock. */
static void spawned(void **state)
{
	struct fx *f = *state;
	struct rp_signer_client *c = NULL;
	struct rp_signer_ca ca, cas[RP_CHAIN_CAS_MAX];
	struct rp_signer_cert cert;
	struct rp_key *dev = NULL;
	struct rp_buf csr, resp, crl, big;
	int64_t now = (int64_t)time(NULL), at = 0;
	size_t n = 0, i;
	struct rp_err e;

	assert_int_equal(rp_signer_spawn(signer_bin(), f->dir, &c, &e), 0);
	assert_int_equal(rp_signer_create_ca(c, "t1", &ca, &e), 0);
	assert_int_equal(ca.generation, 1);
	assert_null(strstr((char *)ca.pem.data, "PRIVATE"));
	rp_signer_ca_free(&ca);
	assert_int_not_equal(rp_signer_create_ca(c, "t1", &ca, &e), 0);
	assert_non_null(strstr(e.msg, "signer: "));
	assert_int_equal(rp_signer_ca_cert(c, "t1", cas, &n, &e), 0);
	assert_int_equal(n, 1);
	for (i = 0; i < n; i++)
		rp_signer_ca_free(&cas[i]);

	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &dev, &e), 0);
	assert_int_equal(rp_csr_create(dev, &csr, &e), 0);
	assert_int_equal(rp_signer_issue(c, "t1", (char *)csr.data, csr.len, now,
					 now + DAY, &cert, &e), 0);
	{
		char want[RP_DEVICE_ID_HEX];

		rp_hex(rp_key_id(dev), RP_KEYID_LEN, want);
		assert_string_equal(cert.device_id, want);
	}
	assert_int_equal(rp_signer_revoke(c, "t1", cert.serial, &at, &e), 0);
	assert_true(at >= now);
	assert_int_equal(rp_signer_crl(c, "t1", &crl, &e), 0);
	assert_non_null(strstr((char *)crl.data, "BEGIN X509 CRL"));
	rp_buf_free(&crl);
	rp_signer_cert_free(&cert);

	/* Garbage, an oversized message and a bad tenant: answered with an
	 * error, and the signer keeps serving. */
	assert_int_equal(rp_signer_raw(c, "\x01\x02garbage", 9, &resp, &e), 0);
	assert_non_null(memmem(resp.data, resp.len, "\"ok\":false", 10));
	rp_buf_free(&resp);
	rp_buf_init(&big, RP_SIGNER_REQ_MAX * 2);
	while (big.len < RP_SIGNER_REQ_MAX + 100)
		assert_int_equal(rp_buf_append(&big, "{{{{{{{{", 8), 0);
	assert_int_equal(rp_signer_raw(c, big.data, big.len, &resp, &e), 0);
	assert_non_null(memmem(resp.data, resp.len, "over", 4));
	rp_buf_free(&resp);
	rp_buf_free(&big);
	assert_int_equal(rp_signer_raw(c, "{\"v\":1,\"op\":\"create-ca\",\"tenant\":\"../..\"}",
				       41, &resp, &e), 0);
	assert_non_null(memmem(resp.data, resp.len, "\"ok\":false", 10));
	rp_buf_free(&resp);
	assert_int_not_equal(rp_signer_issue(c, "t1", (char *)csr.data, csr.len,
					     now, now + 30 * DAY, &cert, &e), 0);
	assert_int_equal(rp_signer_ca_cert(c, "t1", cas, &n, &e), 0);
	for (i = 0; i < n; i++)
		rp_signer_ca_free(&cas[i]);
	rp_signer_close(c);
	rp_buf_free(&csr);
	rp_key_free(dev);
}

/* The targets key: made on first use, never the image key, signs only a
 * well-formed signed region naming its own tenant; what it signs verifies
 * as a device verifies it. */
static void targets_signing(void **state)
{
	static const char tenant[] = "7e4a1c2b-3d4e-45f6-8798-a9bacbdcedfe";
	static const char other[] = "51525354-5556-4758-895a-5b5c5d5e5f60";
	struct fx *f = *state;
	struct rp_signer_client *c = NULL;
	struct rp_signer_image_key tk, ik;
	struct rp_targets *t = calloc(1, sizeof(*t)), *back = calloc(1, sizeof(*back));
	struct rp_buf region, doc;
	struct rp_sigblock sb;
	struct rp_key *pub = NULL;
	const struct rp_key *keys[1];
	uint8_t sig[RP_SIG_MAX], kid[RP_KEYID_LEN], hdr[RP_SIGNER_HEADER_LEN];
	char kidhex[2 * RP_KEYID_LEN + 1];
	size_t siglen = 0;
	struct rp_err e;

	assert_non_null(t);
	assert_non_null(back);
	assert_int_equal(rp_signer_spawn(signer_bin(), f->dir, &c, &e), 0);
	assert_int_equal(rp_signer_targets_key(c, tenant, &tk, &e), 0);
	assert_int_equal(rp_signer_image_key(c, tenant, &ik, &e), 0);
	assert_string_not_equal(tk.key_id, ik.key_id);
	assert_null(strstr((char *)tk.pem.data, "PRIVATE"));
	assert_int_equal(rp_key_load_pem(tk.pem.data, tk.pem.len, 0, &pub, &e), 0);

	assert_int_equal(rp_guid_parse(tenant, 36, t->tenant), 0);
	memset(t->device, 0xab, sizeof(t->device));
	t->version = 3;
	t->issued_at = 1700000000;
	t->expires = 1700086400;
	assert_int_equal(rp_targets_encode_region(t, &region, &e), 0);
	assert_int_equal(rp_signer_sign_targets(c, tenant, region.data, region.len, sig,
						&siglen, kid, &e), 0);
	rp_hex(kid, RP_KEYID_LEN, kidhex);
	assert_string_equal(kidhex, tk.key_id);
	memset(&sb, 0, sizeof(sb));
	assert_int_equal(rp_sigblock_add(&sb, RP_TARGETS_SIGS_MAX, RP_KEY_ED25519, kid, sig,
					 siglen, &e), 0);
	assert_int_equal(rp_targets_assemble(region.data, region.len, &sb, &doc, &e), 0);
	keys[0] = pub;
	assert_int_equal(rp_targets_verify(doc.data, doc.len, keys, 1, back, &e), 0);
	assert_int_equal(back->version, 3);
	rp_buf_free(&doc);

	/* Another tenant's key will not sign a document naming this tenant. */
	assert_int_equal(rp_signer_sign_targets(c, other, region.data, region.len, sig,
						&siglen, kid, &e), RP_EPOLICY);
	/* A damaged region, a truncated one, an image header: refused. */
	region.data[region.len - 2] = 'X';
	assert_int_equal(rp_signer_sign_targets(c, tenant, region.data, region.len, sig,
						&siglen, kid, &e), RP_EPOLICY);
	assert_int_equal(rp_signer_sign_targets(c, tenant, region.data, 16, sig, &siglen,
						kid, &e), RP_EPOLICY);
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "RAMPIMG", 8);
	assert_int_equal(rp_signer_sign_targets(c, tenant, hdr, sizeof(hdr), sig, &siglen,
						kid, &e), RP_EPOLICY);
	/* And the image key will not sign a targets region. */
	memcpy(hdr, region.data, 16);
	assert_int_not_equal(rp_signer_sign_image(c, tenant, hdr, sig, &siglen, kid, &e), 0);
	{
		char path[128];

		assert_true(snprintf(path, sizeof(path), "%s/%s/targets.key", f->dir,
				     tenant) < (int)sizeof(path));
		mode_is(path, 0600);
		key_not_in(path, (char *)tk.pem.data);
	}
	rp_buf_free(&region);
	rp_key_free(pub);
	rp_signer_image_key_free(&tk);
	rp_signer_image_key_free(&ik);
	rp_signer_close(c);
	free(t);
	free(back);
}

static void write_pem(const char *dir, const char *name, const void *p,
		      size_t n)
{
	char path[256];
	struct rp_err e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(rp_file_write(path, p, n, 0600, 0, &e), 0);
}

/* A device: key written as <name>.key, certificate from the signer as
 * <name>.pem; returns the serial. */
static void device(struct rp_signer_client *c, const char *tenant,
		   const char *dir, const char *name, enum rp_key_type t,
		   char serial[RP_SERIAL_HEX])
{
	struct rp_signer_cert cert;
	struct rp_buf csr, priv;
	struct rp_key *k = NULL;
	int64_t now = (int64_t)time(NULL);
	char file[64];
	struct rp_err e;

	assert_int_equal(rp_key_generate(t, &k, &e), 0);
	assert_int_equal(rp_csr_create(k, &csr, &e), 0);
	assert_int_equal(rp_signer_issue(c, tenant, (char *)csr.data, csr.len,
					 now - 60, now + DAY, &cert, &e), 0);
	assert_int_equal(rp_key_private_pem(k, &priv, &e), 0);
	snprintf(file, sizeof(file), "%s.key", name);
	write_pem(dir, file, priv.data, priv.len);
	snprintf(file, sizeof(file), "%s.pem", name);
	write_pem(dir, file, cert.pem.data, cert.pem.len);
	memcpy(serial, cert.serial, RP_SERIAL_HEX);
	rp_buf_free_wipe(&priv);
	rp_buf_free(&csr);
	rp_signer_cert_free(&cert);
	rp_key_free(k);
}

static void interop(void **state)
{
	struct fx *f = *state;
	struct rp_signer_client *c = NULL;
	struct rp_signer_ca ca;
	char out[64], serial[RP_SERIAL_HEX], cmd[512];
	struct rp_buf crl;
	struct rp_err e;
	int st;

	(void)snprintf(out, sizeof(out), "/tmp/rp-interop-XXXXXX");
	assert_non_null(mkdtemp(out));
	assert_int_equal(rp_signer_spawn(signer_bin(), f->dir, &c, &e), 0);
	assert_int_equal(rp_signer_create_ca(c, "t1", &ca, &e), 0);
	write_pem(out, "ca.pem", ca.pem.data, ca.pem.len);
	rp_signer_ca_free(&ca);
	assert_int_equal(rp_signer_create_ca(c, "t2", &ca, &e), 0);
	rp_signer_ca_free(&ca);
	device(c, "t1", out, "good", RP_KEY_P256, serial);
	device(c, "t1", out, "revoked", RP_KEY_P256, serial);
	assert_int_equal(rp_signer_revoke(c, "t1", serial, NULL, &e), 0);
	device(c, "t2", out, "other", RP_KEY_P256, serial);
	assert_int_equal(rp_signer_crl(c, "t1", &crl, &e), 0);
	write_pem(out, "crl.pem", crl.data, crl.len);
	rp_buf_free(&crl);
	rp_signer_close(c);

	assert_true(snprintf(cmd, sizeof(cmd), "sh '%s/tests/ca/interop.sh' '%s'",
			     getenv("RP_SRCDIR"), out) < (int)sizeof(cmd));
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	rm_rf(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(keydir_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(spawned, setup, teardown),
		cmocka_unit_test_setup_teardown(targets_signing, setup, teardown),
		cmocka_unit_test_setup_teardown(interop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
