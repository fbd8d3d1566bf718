/* Unit tests for lib/crypto/x509: tenant CAs, CSRs, device certificates,
 * verification at a pinned clock, revocation. Must-NOT-work cases:
 * expired, not yet valid, revoked, self-signed, wrong CA, a CA as client,
 * CSRs with a bad signature, a wrong key type, oversize or extra bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#define T0 1767225600LL /* 2026-01-01T00:00:00Z: the pinned clock */
#define DAY 86400LL

struct fx {
	struct rp_key *ca_key;
	struct rp_cert *ca;
	struct rp_key *dev;
	struct rp_csr *csr;
};

static struct rp_cert *make_ca(struct rp_key **key, const char *cn)
{
	struct rp_cert *ca = NULL;
	struct rp_err e;

	assert_int_equal(rp_key_generate(RP_KEY_P256, key, &e), 0);
	assert_int_equal(rp_cert_create_ca(*key, cn, T0 - DAY, T0 + 730 * DAY,
					   &ca, &e), 0);
	return ca;
}

static struct rp_csr *make_csr(const struct rp_key *k)
{
	struct rp_csr *csr = NULL;
	struct rp_buf pem;
	struct rp_err e;

	assert_int_equal(rp_csr_create(k, &pem, &e), 0);
	assert_int_equal(rp_csr_parse(pem.data, pem.len, &csr, &e), 0);
	rp_buf_free(&pem);
	return csr;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rp_err e;

	assert_non_null(f);
	f->ca = make_ca(&f->ca_key, "Rampart tenant test CA 1");
	assert_int_equal(rp_key_generate(RP_KEY_P256, &f->dev, &e), 0);
	f->csr = make_csr(f->dev);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rp_csr_free(f->csr);
	rp_key_free(f->dev);
	rp_cert_free(f->ca);
	rp_key_free(f->ca_key);
	free(f);
	return 0;
}

static struct rp_cert *issue(struct fx *f, int64_t nb, int64_t na,
			     uint8_t serial[RP_SERIAL_LEN])
{
	struct rp_cert *c = NULL;
	struct rp_err e;

	assert_int_equal(rp_cert_issue(f->ca, f->ca_key, f->csr, nb, na, serial,
				       &c, &e), 0);
	return c;
}

static void issue_verify(void **state)
{
	struct fx *f = *state;
	struct rp_cert *cas[1] = { f->ca };
	uint8_t serial[RP_SERIAL_LEN], back[RP_SERIAL_LEN];
	char id[RP_DEVICE_ID_HEX], want[RP_DEVICE_ID_HEX], cid[RP_DEVICE_ID_HEX];
	struct rp_cert *c = issue(f, T0, T0 + DAY, serial), *again = NULL;
	int64_t nb, na;
	struct rp_buf pem, der;
	struct rp_err e;

	rp_hex(rp_key_id(f->dev), RP_KEYID_LEN, want);
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + 3600, id,
					       &e), 0);
	assert_string_equal(id, want);
	assert_int_equal(rp_cert_device_id(c, cid, &e), 0);
	assert_string_equal(cid, want);
	assert_int_equal(rp_cert_serial(c, back, &e), 0);
	assert_memory_equal(serial, back, RP_SERIAL_LEN);
	assert_true(serial[0] & 0x40);
	assert_int_equal(rp_cert_validity(c, &nb, &na, &e), 0);
	assert_int_equal(nb, T0);
	assert_int_equal(na, T0 + DAY);
	/* not_before is inside the window; OpenSSL treats not_after itself
	 * as expired, so the last valid second is not_after - 1. */
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0, NULL, &e), 0);
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + DAY - 1,
					       NULL, &e), 0);

	/* PEM and DER round trips keep the same certificate. */
	assert_int_equal(rp_cert_pem(c, &pem, 0, &e), 0);
	assert_int_equal(rp_cert_load_pem(pem.data, pem.len, &again, &e), 0);
	assert_int_equal(rp_cert_verify_device(again, cas, 1, NULL, 0, T0 + 1,
					       NULL, &e), 0);
	rp_cert_free(again);
	again = NULL;
	assert_int_equal(rp_cert_der(c, &der, &e), 0);
	assert_int_equal(rp_cert_load_der(der.data, der.len, &again, &e), 0);
	rp_cert_free(again);
	again = NULL;
	/* One byte more is not one DER certificate. */
	assert_int_equal(rp_buf_append(&der, "", 1), 0);
	assert_int_equal(rp_cert_load_der(der.data, der.len, &again, &e), RP_EFORMAT);
	assert_null(again);
	rp_buf_free(&der);
	rp_buf_free(&pem);
	rp_cert_free(c);
}

static void ed25519_device(void **state)
{
	struct fx *f = *state;
	struct rp_cert *cas[1] = { f->ca };
	struct rp_key *k = NULL;
	struct rp_csr *csr = NULL;
	struct rp_cert *c = NULL;
	char id[RP_DEVICE_ID_HEX], want[RP_DEVICE_ID_HEX];
	struct rp_err e;

	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &k, &e), 0);
	csr = make_csr(k);
	assert_int_equal(rp_key_type(rp_csr_key(csr)), RP_KEY_ED25519);
	assert_int_equal(rp_cert_issue(f->ca, f->ca_key, csr, T0, T0 + DAY, NULL,
				       &c, &e), 0);
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + 5, id,
					       &e), 0);
	rp_hex(rp_key_id(k), RP_KEYID_LEN, want);
	assert_string_equal(id, want);
	rp_cert_free(c);
	rp_csr_free(csr);
	rp_key_free(k);
}

static void time_refusals(void **state)
{
	struct fx *f = *state;
	struct rp_cert *cas[1] = { f->ca };
	struct rp_cert *c = issue(f, T0, T0 + DAY, NULL);
	struct rp_err e;

	/* expired */
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + DAY,
					       NULL, &e), RP_EUNTRUSTED);
	assert_non_null(strstr(e.msg, "expired"));
	/* not yet valid */
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 - 1, NULL,
					       &e), RP_EUNTRUSTED);
	assert_non_null(strstr(e.msg, "not yet valid"));
	/* valid leaf, expired CA */
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + 731 * DAY,
					       NULL, &e), RP_EUNTRUSTED);
	rp_cert_free(c);
	c = NULL;
	/* The issuer refuses a window that is empty or outside the CA's. */
	assert_int_equal(rp_cert_issue(f->ca, f->ca_key, f->csr, T0, T0, NULL, &c,
				       &e), RP_ERANGE);
	assert_int_equal(rp_cert_issue(f->ca, f->ca_key, f->csr, T0 - 2 * DAY,
				       T0, NULL, &c, &e), RP_ERANGE);
	assert_int_equal(rp_cert_issue(f->ca, f->ca_key, f->csr, T0,
				       T0 + 800 * DAY, NULL, &c, &e), RP_ERANGE);
	assert_null(c);
}

static void revoked(void **state)
{
	struct fx *f = *state;
	struct rp_cert *cas[1] = { f->ca };
	uint8_t list[3][RP_SERIAL_LEN];
	struct rp_cert *c = issue(f, T0, T0 + DAY, list[1]);
	struct rp_err e;

	memset(list[0], 0x41, RP_SERIAL_LEN);
	memset(list[2], 0x42, RP_SERIAL_LEN);
	assert_int_equal(rp_cert_verify_device(c, cas, 1, list, 1, T0 + 1, NULL,
					       &e), 0);
	assert_int_equal(rp_cert_verify_device(c, cas, 1, list, 3, T0 + 1, NULL,
					       &e), RP_EUNTRUSTED);
	assert_non_null(strstr(e.msg, "revoked"));
	rp_cert_free(c);
}

static void wrong_ca_and_self_signed(void **state)
{
	struct fx *f = *state;
	struct rp_key *k2 = NULL;
	struct rp_cert *ca2 = make_ca(&k2, "Rampart tenant other CA 1");
	struct rp_cert *cas[2] = { ca2, f->ca };
	struct rp_cert *c = issue(f, T0, T0 + DAY, NULL), *c2 = NULL;
	struct rp_csr *csr = NULL;
	struct rp_err e;

	/* Issued by f->ca, checked against another tenant's CA. */
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + 1, NULL,
					       &e), RP_EUNTRUSTED);
	/* During a rollover both generations are trusted. */
	assert_int_equal(rp_cert_verify_device(c, cas, 2, NULL, 0, T0 + 1, NULL,
					       &e), 0);
	/* A CA certificate presented as a client is refused, even its own. */
	assert_int_equal(rp_cert_verify_device(f->ca, cas + 1, 1, NULL, 0, T0 + 1,
					       NULL, &e), RP_EPOLICY);
	/* A self-signed "device" CA (the device's own key as a CA). */
	rp_cert_free(c2);
	c2 = NULL;
	assert_int_equal(rp_cert_issue(ca2, f->ca_key, f->csr, T0, T0 + DAY, NULL,
				       &c2, &e), RP_EUSAGE);
	assert_null(c2);
	/* A leaf signed by a CA that merely copies the tenant CA's name. */
	{
		struct rp_key *k3 = NULL;
		struct rp_cert *fake = make_ca(&k3, "Rampart tenant test CA 1");

		assert_int_equal(rp_cert_issue(fake, k3, f->csr, T0, T0 + DAY, NULL,
					       &c2, &e), 0);
		assert_int_equal(rp_cert_verify_device(c2, cas + 1, 1, NULL, 0,
						       T0 + 1, NULL, &e),
				 RP_EUNTRUSTED);
		rp_cert_free(fake);
		rp_key_free(k3);
	}
	/* Too many CAs is a usage error, not a silent truncation. */
	{
		struct rp_cert *many[RP_CHAIN_CAS_MAX + 1] = { 0 };
		size_t i;

		for (i = 0; i <= RP_CHAIN_CAS_MAX; i++)
			many[i] = f->ca;
		assert_int_equal(rp_cert_verify_device(c, many, RP_CHAIN_CAS_MAX + 1,
						       NULL, 0, T0 + 1, NULL, &e),
				 RP_EUSAGE);
	}
	rp_csr_free(csr);
	rp_cert_free(c2);
	rp_cert_free(c);
	rp_cert_free(ca2);
	rp_key_free(k2);
}

static void self_signed_leaf(void **state)
{
	struct fx *f = *state;
	struct rp_cert *cas[1] = { f->ca };
	struct rp_cert *self = NULL, *c = NULL;
	struct rp_key *k = NULL;
	struct rp_csr *csr = NULL;
	struct rp_err e;

	/* The device's key makes itself a CA and issues its own leaf: not in
	 * the trust set, so refused; and the self-signed CA itself too. */
	assert_int_equal(rp_key_generate(RP_KEY_P256, &k, &e), 0);
	assert_int_equal(rp_cert_create_ca(k, "Rampart tenant test CA 1",
					   T0 - DAY, T0 + DAY, &self, &e), 0);
	csr = make_csr(k);
	assert_int_equal(rp_cert_issue(self, k, csr, T0, T0 + DAY, NULL, &c, &e), 0);
	assert_int_equal(rp_cert_verify_device(c, cas, 1, NULL, 0, T0 + 1, NULL,
					       &e), RP_EUNTRUSTED);
	assert_int_not_equal(rp_cert_verify_device(self, cas, 1, NULL, 0, T0 + 1,
						   NULL, &e), 0);
	rp_csr_free(csr);
	rp_cert_free(c);
	rp_cert_free(self);
	rp_key_free(k);
}

static void read_vector(const char *name, struct rp_buf *out)
{
	char path[512];
	const char *src = getenv("RP_SRCDIR");
	struct rp_err e;

	assert_non_null(src);
	assert_true(snprintf(path, sizeof(path), "%s/tests/ca/data/%s", src,
			     name) < (int)sizeof(path));
	assert_int_equal(rp_file_read(path, 65536, out, &e), 0);
}

static int parse_vector(const char *name, struct rp_err *e)
{
	struct rp_csr *csr = NULL;
	struct rp_buf b;
	int rc;

	read_vector(name, &b);
	rc = rp_csr_parse(b.data, b.len, &csr, e);
	assert_true(rc == 0 || csr == NULL);
	rp_csr_free(csr);
	rp_buf_free(&b);
	return rc;
}

static void csr_refusals(void **state)
{
	struct fx *f = *state;
	struct rp_csr *csr = NULL;
	struct rp_buf pem, big;
	struct rp_err e;

	(void)f;
	assert_int_equal(parse_vector("good-p256.csr", &e), 0);
	assert_int_equal(parse_vector("bad-signature.csr", &e), RP_EVERIFY);
	assert_int_equal(parse_vector("rsa.csr", &e), RP_EPOLICY);
	assert_int_equal(parse_vector("p384.csr", &e), RP_EPOLICY);
	assert_non_null(strstr(e.msg, "P-256"));
	assert_int_equal(parse_vector("sha1.csr", &e), RP_EPOLICY);

	assert_int_equal(rp_csr_create(f->dev, &pem, &e), 0);
	/* Oversized: refused before parsing. */
	rp_buf_init(&big, RP_CSR_PEM_MAX + 2);
	assert_int_equal(rp_buf_append(&big, pem.data, pem.len), 0);
	while (big.len <= RP_CSR_PEM_MAX)
		assert_int_equal(rp_buf_append(&big, "\n", 1), 0);
	assert_int_equal(rp_csr_parse(big.data, big.len, &csr, &e), RP_ERANGE);
	/* Text after the block, text before it, a NUL, truncation. */
	rp_buf_reset(&big);
	assert_int_equal(rp_buf_append(&big, pem.data, pem.len), 0);
	assert_int_equal(rp_buf_append(&big, "\n \nx", 4), 0);
	assert_int_equal(rp_csr_parse(big.data, big.len, &csr, &e), RP_EFORMAT);
	rp_buf_reset(&big);
	assert_int_equal(rp_buf_append(&big, "x", 1), 0);
	assert_int_equal(rp_buf_append(&big, pem.data, pem.len), 0);
	assert_int_equal(rp_csr_parse(big.data, big.len, &csr, &e), RP_EFORMAT);
	rp_buf_reset(&big);
	assert_int_equal(rp_buf_append(&big, pem.data, pem.len), 0);
	big.data[40] = 0;
	assert_int_equal(rp_csr_parse(big.data, big.len, &csr, &e), RP_EFORMAT);
	assert_int_equal(rp_csr_parse(pem.data, pem.len / 2, &csr, &e), RP_EFORMAT);
	assert_int_equal(rp_csr_parse(pem.data, 0, &csr, &e), RP_EFORMAT);
	/* Trailing whitespace is fine. */
	rp_buf_reset(&big);
	assert_int_equal(rp_buf_append(&big, pem.data, pem.len), 0);
	assert_int_equal(rp_buf_append(&big, "\n\n", 2), 0);
	assert_int_equal(rp_csr_parse(big.data, big.len, &csr, &e), 0);
	rp_csr_free(csr);
	rp_buf_free(&big);
	rp_buf_free(&pem);
}

static void ca_profile(void **state)
{
	struct fx *f = *state;
	struct rp_key *ed = NULL;
	struct rp_cert *c = NULL;
	struct rp_err e;

	/* CA keys are P-256 with a private half. */
	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &ed, &e), 0);
	assert_int_equal(rp_cert_create_ca(ed, "x", T0, T0 + DAY, &c, &e),
			 RP_EUSAGE);
	assert_int_equal(rp_cert_create_ca(f->ca_key, "", T0, T0 + DAY, &c, &e),
			 RP_EUSAGE);
	assert_null(c);
	assert_true(rp_cert_matches_key(f->ca, f->ca_key));
	assert_false(rp_cert_matches_key(f->ca, ed));
	rp_key_free(ed);
}

static void crl(void **state)
{
	struct fx *f = *state;
	uint8_t list[2][RP_SERIAL_LEN];
	int64_t at[2] = { T0, T0 + 10 };
	struct rp_buf out;
	struct rp_err e;

	memset(list, 0x55, sizeof(list));
	list[1][0] = 0x66;
	rp_buf_init(&out, 65536);
	assert_int_equal(rp_crl_create(f->ca, f->ca_key, list, at, 2, T0,
				       T0 + DAY, 7, &out, &e), 0);
	assert_non_null(strstr((char *)out.data, "-----BEGIN X509 CRL-----"));
	/* nextUpdate must follow thisUpdate; the key must be the CA's. */
	assert_int_equal(rp_crl_create(f->ca, f->ca_key, list, at, 2, T0, T0, 7,
				       &out, &e), RP_EUSAGE);
	assert_int_equal(rp_crl_create(f->ca, f->dev, list, at, 2, T0, T0 + DAY,
				       7, &out, &e), RP_EUSAGE);
	rp_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(issue_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(ed25519_device, setup, teardown),
		cmocka_unit_test_setup_teardown(time_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_ca_and_self_signed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(self_signed_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(csr_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(ca_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(crl, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
