/* Unit tests for lib/crypto: keys, ids, signatures, hashing, compare. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "crypto/base64.h"
#include "crypto/crypto.h"

static void sign_verify(enum rp_key_type t)
{
	static const uint8_t msg[] = "the header bytes";
	uint8_t sig[RP_SIG_MAX], bad[RP_SIG_MAX];
	struct rp_key *k = NULL, *pub = NULL, *other = NULL;
	struct rp_buf priv_pem, pub_pem;
	struct rp_err e;
	size_t siglen = 0, i;

	assert_int_equal(rp_key_generate(t, &k, &e), 0);
	assert_int_equal(rp_key_type(k), t);
	assert_true(rp_key_has_private(k));
	assert_int_equal(rp_sign(k, msg, sizeof(msg), sig, &siglen, &e), 0);
	if (t == RP_KEY_ED25519)
		assert_int_equal(siglen, 64);
	else
		assert_true(siglen >= 8 && siglen <= 72);
	assert_int_equal(rp_verify(k, msg, sizeof(msg), sig, siglen, &e), 0);

	/* Round-trip through PEM: same key id, public half verifies. */
	assert_int_equal(rp_key_private_pem(k, &priv_pem, &e), 0);
	assert_int_equal(rp_key_public_pem(k, &pub_pem, &e), 0);
	assert_non_null(strstr((char *)priv_pem.data, "BEGIN PRIVATE KEY"));
	assert_non_null(strstr((char *)pub_pem.data, "BEGIN PUBLIC KEY"));
	assert_int_equal(rp_key_load_pem(pub_pem.data, pub_pem.len, 0, &pub, &e), 0);
	assert_false(rp_key_has_private(pub));
	assert_memory_equal(rp_key_id(pub), rp_key_id(k), RP_KEYID_LEN);
	assert_int_equal(rp_verify(pub, msg, sizeof(msg), sig, siglen, &e), 0);
	/* A public key cannot sign, or be loaded as a private one. */
	assert_int_not_equal(rp_sign(pub, msg, sizeof(msg), bad, &siglen, &e), 0);
	rp_key_free(pub);
	pub = NULL;
	assert_int_not_equal(rp_key_load_pem(pub_pem.data, pub_pem.len, 1, &pub, &e), 0);
	assert_null(pub);

	/* Any flipped bit of the message or signature fails. */
	assert_int_equal(rp_verify(k, msg, sizeof(msg) - 1, sig, siglen, &e), RP_EVERIFY);
	for (i = 0; i < siglen; i++) {
		memcpy(bad, sig, siglen);
		bad[i] ^= 0x01;
		assert_int_equal(rp_verify(k, msg, sizeof(msg), bad, siglen, &e), RP_EVERIFY);
	}
	assert_int_equal(rp_verify(k, msg, sizeof(msg), sig, siglen - 1, &e), RP_EVERIFY);
	assert_int_equal(rp_verify(k, msg, sizeof(msg), sig, 0, &e), RP_EVERIFY);
	assert_int_equal(rp_verify(k, msg, sizeof(msg), sig, RP_SIG_MAX + 1, &e), RP_EVERIFY);

	/* Another key of the same type: different id, does not verify. */
	assert_int_equal(rp_key_generate(t, &other, &e), 0);
	assert_memory_not_equal(rp_key_id(other), rp_key_id(k), RP_KEYID_LEN);
	assert_int_equal(rp_verify(other, msg, sizeof(msg), sig, siglen, &e), RP_EVERIFY);

	rp_key_free(other);
	rp_key_free(k);
	rp_buf_free_wipe(&priv_pem);
	rp_buf_free(&pub_pem);
}

static void test_ed25519(void **state)
{
	(void)state;
	sign_verify(RP_KEY_ED25519);
}

static void test_p256(void **state)
{
	(void)state;
	sign_verify(RP_KEY_P256);
}

static void test_cross_type(void **state)
{
	static const uint8_t msg[] = "m";
	struct rp_key *ed = NULL, *ec = NULL;
	uint8_t sig[RP_SIG_MAX];
	size_t n;
	struct rp_err e;

	(void)state;
	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &ed, &e), 0);
	assert_int_equal(rp_key_generate(RP_KEY_P256, &ec, &e), 0);
	assert_int_equal(rp_sign(ed, msg, 1, sig, &n, &e), 0);
	assert_int_equal(rp_verify(ec, msg, 1, sig, n, &e), RP_EVERIFY);
	assert_int_equal(rp_sign(ec, msg, 1, sig, &n, &e), 0);
	assert_int_equal(rp_verify(ed, msg, 1, sig, n, &e), RP_EVERIFY);
	rp_key_free(ed);
	rp_key_free(ec);
}

/* Keys of other types or curves are refused with a clear message. */
static void test_unsupported_keys(void **state)
{
	/* A valid P-384 public key: right algorithm, wrong curve. */
	static const char p384[] =
		"-----BEGIN PUBLIC KEY-----\n"
		"MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEA/h35pt/toEx/xRBSSSBO565CKkd+lHp\n"
		"g25SjfMIlWDKyNiaaamXDRg6LAobsruEOGWHBm/ZnYIZRs1kJ10DVJvF2TcPQ1Yu\n"
		"BvqZkcOu5qqqG5u+2WJx1ynRFpNx+LTC\n"
		"-----END PUBLIC KEY-----\n";
	struct rp_key *k = NULL;
	struct rp_err e;

	(void)state;
	assert_int_not_equal(rp_key_load_pem((const uint8_t *)p384, sizeof(p384) - 1, 0,
					     &k, &e), 0);
	assert_null(k);
	assert_int_not_equal(rp_key_load_pem((const uint8_t *)"garbage", 7, 0, &k, &e), 0);
	assert_null(k);
	assert_int_not_equal(rp_key_load_pem((const uint8_t *)"", 0, 0, &k, &e), 0);
}

static void test_key_type_names(void **state)
{
	enum rp_key_type t;

	(void)state;
	assert_int_equal(rp_key_type_parse("ed25519", &t), 0);
	assert_int_equal(t, RP_KEY_ED25519);
	assert_int_equal(rp_key_type_parse("ecdsa-p256", &t), 0);
	assert_int_equal(t, RP_KEY_P256);
	assert_int_equal(rp_key_type_parse("rsa", &t), RP_EINVAL);
	assert_string_equal(rp_key_type_name(RP_KEY_P256), "ecdsa-p256");
}

static void test_key_file(void **state)
{
	char dir[] = "/tmp/rp-test-crypto-XXXXXX", path[256];
	struct rp_key *k = NULL, *l = NULL;
	struct rp_buf pem;
	struct rp_err e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/k.pem", dir);
	assert_int_equal(rp_key_generate(RP_KEY_ED25519, &k, &e), 0);
	assert_int_equal(rp_key_private_pem(k, &pem, &e), 0);
	assert_int_equal(rp_file_write(path, pem.data, pem.len, 0600, 1, &e), 0);
	assert_int_equal(rp_key_load_file(path, 1, &l, &e), 0);
	assert_memory_equal(rp_key_id(k), rp_key_id(l), RP_KEYID_LEN);
	rp_key_free(l);
	l = NULL;
	/* A private key file may be used where a public key is wanted. */
	assert_int_equal(rp_key_load_file(path, 0, &l, &e), 0);
	assert_memory_equal(rp_key_id(k), rp_key_id(l), RP_KEYID_LEN);
	rp_key_free(l);
	assert_int_equal(unlink(path), 0);
	assert_int_not_equal(rp_key_load_file(path, 0, &l, &e), 0);
	assert_non_null(strstr(e.msg, path));
	assert_int_equal(rmdir(dir), 0);
	rp_buf_free_wipe(&pem);
	rp_key_free(k);
}

static void test_sha256(void **state)
{
	/* FIPS 180-2 test vectors. */
	static const char *abc_hex =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char *empty_hex =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	uint8_t d[RP_SHA256_LEN], d2[RP_SHA256_LEN];
	struct rp_sha256 *h = NULL;
	char hex[65];

	(void)state;
	assert_int_equal(rp_sha256("abc", 3, d), 0);
	rp_hex(d, sizeof(d), hex);
	assert_string_equal(hex, abc_hex);
	assert_int_equal(rp_sha256("", 0, d), 0);
	rp_hex(d, sizeof(d), hex);
	assert_string_equal(hex, empty_hex);
	/* Streaming in pieces gives the same digest; final resets. */
	assert_int_equal(rp_sha256_new(&h), 0);
	assert_int_equal(rp_sha256_update(h, "a", 1), 0);
	assert_int_equal(rp_sha256_update(h, "", 0), 0);
	assert_int_equal(rp_sha256_update(h, "bc", 2), 0);
	assert_int_equal(rp_sha256_final(h, d2), 0);
	rp_hex(d2, sizeof(d2), hex);
	assert_string_equal(hex, abc_hex);
	assert_int_equal(rp_sha256_final(h, d2), 0);
	rp_hex(d2, sizeof(d2), hex);
	assert_string_equal(hex, empty_hex);
	rp_sha256_free(h);
	rp_sha256_free(NULL);
}

static void test_ct_and_wipe(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(rp_ct_equal(a, b, sizeof(a)));
	b[31] ^= 1;
	assert_false(rp_ct_equal(a, b, sizeof(a)));
	assert_true(rp_ct_equal(a, b, 0));
	rp_wipe(a, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_memory_equal(a, b, sizeof(a));
	rp_wipe(NULL, 10);
	assert_int_equal(rp_random(a, sizeof(a)), 0);
	assert_int_equal(rp_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_base64(void **state)
{
	static const char *const bad[] = {
		"", "QQ", "QQ=", "Q===", "QQ==QQ==", " QQ=", "QQ=\n", "Q!==", "=QQQ",
	};
	struct rp_buf b;
	struct rp_err e;
	size_t i;

	(void)state;
	assert_int_equal(rp_base64_decode("aGVsbG8=", 8, 16, &b, &e), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	rp_buf_free(&b);
	assert_int_equal(rp_base64_decode("aGVsbG8h", 8, 16, &b, &e), 0);
	assert_int_equal(b.len, 6);
	rp_buf_free(&b);
	assert_int_equal(rp_base64_decode("AAAA", 4, 16, &b, &e), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "\0\0\0", 3);
	rp_buf_free(&b);
	/* Over the cap: refused before decoding. */
	assert_int_equal(rp_base64_decode("aGVsbG8h", 8, 5, &b, &e), RP_ERANGE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(rp_base64_decode(bad[i], strlen(bad[i]), 64, &b, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_cross_type),
		cmocka_unit_test(test_unsupported_keys),
		cmocka_unit_test(test_key_type_names),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_ct_and_wipe),
		cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
