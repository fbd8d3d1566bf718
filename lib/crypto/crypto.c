/* OpenSSL 3 behind rp_ names. EVP only: no deprecated low-level APIs. */
#include "crypto/crypto.h"
#include "crypto/crypto_priv.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"

#define KEY_FILE_MAX (64 * 1024)

struct rp_key {
	EVP_PKEY *pkey;
	enum rp_key_type type;
	int has_private;
	uint8_t id[RP_KEYID_LEN];
};

struct rp_sha256 {
	EVP_MD_CTX *ctx;
};

/* Append the first queued OpenSSL error (if any) and clear the queue. */
static int ossl_fail(struct rp_err *e, const char *what)
{
	unsigned long code = ERR_get_error();
	char buf[200];

	if (code) {
		ERR_error_string_n(code, buf, sizeof(buf));
		rp_err_set(e, RP_ECRYPTO, "%s: %s", what, buf);
	} else {
		rp_err_set(e, RP_ECRYPTO, "%s failed", what);
	}
	ERR_clear_error();
	return RP_ECRYPTO;
}

const char *rp_key_type_name(enum rp_key_type t)
{
	switch (t) {
	case RP_KEY_ED25519: return "ed25519";
	case RP_KEY_P256: return "ecdsa-p256";
	}
	return NULL;
}

int rp_key_type_parse(const char *s, enum rp_key_type *out)
{
	if (!s)
		return RP_EINVAL;
	if (strcmp(s, "ed25519") == 0) {
		*out = RP_KEY_ED25519;
		return 0;
	}
	if (strcmp(s, "ecdsa-p256") == 0 || strcmp(s, "p256") == 0) {
		*out = RP_KEY_P256;
		return 0;
	}
	return RP_EINVAL;
}

/* Classify pkey and compute its id; takes ownership of pkey on success. */
static int wrap(EVP_PKEY *pkey, int has_private, struct rp_key **out,
		struct rp_err *e)
{
	struct rp_key *k = NULL;
	unsigned char *der = NULL;
	int derlen, rc;

	k = calloc(1, sizeof(*k));
	if (!k)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		k->type = RP_KEY_ED25519;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64];
		size_t glen = 0;

		if (!EVP_PKEY_get_utf8_string_param(pkey,
				OSSL_PKEY_PARAM_GROUP_NAME, group,
				sizeof(group), &glen) ||
		    strcmp(group, "prime256v1") != 0) {
			rc = rp_err_set(e, RP_EPOLICY,
					"only the P-256 curve is supported for ECDSA keys");
			goto out;
		}
		k->type = RP_KEY_P256;
	} else {
		rc = rp_err_set(e, RP_EPOLICY,
				"unsupported key type (use ed25519 or ecdsa-p256)");
		goto out;
	}
	derlen = i2d_PUBKEY(pkey, &der);
	if (derlen <= 0) {
		rc = ossl_fail(e, "encoding public key");
		goto out;
	}
	rc = rp_sha256(der, (size_t)derlen, k->id);
	if (rc) {
		rp_err_set(e, rc, "hashing public key");
		goto out;
	}
	k->pkey = pkey;
	k->has_private = has_private;
	*out = k;
	k = NULL;
out:
	OPENSSL_free(der);
	free(k);
	return rc;
}

int rp_key_wrap_pkey(EVP_PKEY *pkey, int has_private, struct rp_key **out,
		     struct rp_err *e)
{
	return wrap(pkey, has_private, out, e);
}

EVP_PKEY *rp_key_pkey(const struct rp_key *k)
{
	return k->pkey;
}

int rp_ossl_fail(struct rp_err *e, const char *what)
{
	return ossl_fail(e, what);
}

int rp_key_generate(enum rp_key_type t, struct rp_key **out, struct rp_err *e)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	switch (t) {
	case RP_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case RP_KEY_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	default:
		return rp_err_set(e, RP_EINVAL, "unknown key type");
	}
	if (!pkey)
		return ossl_fail(e, "key generation");
	rc = wrap(pkey, 1, out, e);
	if (rc)
		EVP_PKEY_free(pkey);
	return rc;
}

/* Encrypted keys fail instead of prompting on a terminal from library
 * code: the callback supplies no passphrase. */
static int no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

int rp_key_load_pem(const uint8_t *pem, size_t len, int want_private,
		    struct rp_key **out, struct rp_err *e)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int rc, priv = 0;

	if (len > KEY_FILE_MAX || len > (size_t)INT32_MAX)
		return rp_err_set(e, RP_ERANGE, "key text too large");
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
	if (pkey) {
		priv = 1;
	} else if (!want_private) {
		ERR_clear_error();
		(void)BIO_reset(bio);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	if (!pkey) {
		rc = ossl_fail(e, want_private ? "not a PEM private key"
					       : "not a PEM public or private key");
		goto out;
	}
	rc = wrap(pkey, priv, out, e);
	if (rc == 0)
		pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

int rp_key_load_file(const char *path, int want_private, struct rp_key **out,
		     struct rp_err *e)
{
	struct rp_buf b;
	int rc;

	rp_buf_init(&b, 0);
	rc = rp_file_read(path, KEY_FILE_MAX, &b, e);
	if (rc)
		goto out;
	rc = rp_key_load_pem(b.data, b.len, want_private, out, e);
	if (rc)
		rp_err_prefix(e, "%s", path);
out:
	rp_buf_free_wipe(&b);
	return rc;
}

static int bio_to_buf(BIO *bio, struct rp_buf *out, struct rp_err *e)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	struct rp_buf b;
	int rc;

	if (n <= 0 || !p)
		return ossl_fail(e, "encoding key");
	rp_buf_init(&b, KEY_FILE_MAX);
	rc = rp_buf_append(&b, p, (size_t)n);
	if (rc)
		return rp_err_set(e, rc, "encoding key");
	*out = b;
	return 0;
}

int rp_key_private_pem(const struct rp_key *k, struct rp_buf *out,
		       struct rp_err *e)
{
	BIO *bio;
	int rc;

	if (!k->has_private)
		return rp_err_set(e, RP_EINVAL, "not a private key");
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		bio = BIO_new(BIO_s_mem());
	if (!bio)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (!PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL))
		rc = ossl_fail(e, "encoding private key");
	else
		rc = bio_to_buf(bio, out, e);
	BIO_free(bio);
	return rc;
}

int rp_key_public_pem(const struct rp_key *k, struct rp_buf *out,
		      struct rp_err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (!bio)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (!PEM_write_bio_PUBKEY(bio, k->pkey))
		rc = ossl_fail(e, "encoding public key");
	else
		rc = bio_to_buf(bio, out, e);
	BIO_free(bio);
	return rc;
}

enum rp_key_type rp_key_type(const struct rp_key *k)
{
	return k->type;
}

int rp_key_has_private(const struct rp_key *k)
{
	return k->has_private;
}

const uint8_t *rp_key_id(const struct rp_key *k)
{
	return k->id;
}

void rp_key_free(struct rp_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material */
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static const EVP_MD *md_for(const struct rp_key *k)
{
	return k->type == RP_KEY_P256 ? EVP_sha256() : NULL;
}

int rp_sign(const struct rp_key *k, const uint8_t *msg, size_t len,
	    uint8_t *sig, size_t *siglen, struct rp_err *e)
{
	EVP_MD_CTX *ctx = NULL;
	size_t n = RP_SIG_MAX;
	int rc;

	if (!k->has_private)
		return rp_err_set(e, RP_EINVAL, "signing needs a private key");
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (EVP_DigestSignInit(ctx, NULL, md_for(k), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, len) != 1) {
		rc = ossl_fail(e, "signing");
		goto out;
	}
	*siglen = n;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int rp_verify(const struct rp_key *k, const uint8_t *msg, size_t len,
	      const uint8_t *sig, size_t siglen, struct rp_err *e)
{
	EVP_MD_CTX *ctx = NULL;
	int rc, ok;

	if (siglen == 0 || siglen > RP_SIG_MAX)
		return rp_err_set(e, RP_EVERIFY, "signature has a bad length");
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	if (EVP_DigestVerifyInit(ctx, NULL, md_for(k), NULL, k->pkey) != 1) {
		rc = ossl_fail(e, "verify init");
		goto out;
	}
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, len);
	ERR_clear_error();
	rc = ok == 1 ? 0 : rp_err_set(e, RP_EVERIFY, "signature does not verify");
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int rp_sha256_new(struct rp_sha256 **out)
{
	struct rp_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return RP_ENOMEM;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		rp_sha256_free(h);
		ERR_clear_error();
		return RP_ECRYPTO;
	}
	*out = h;
	return 0;
}

int rp_sha256_update(struct rp_sha256 *h, const void *p, size_t n)
{
	return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : RP_ECRYPTO;
}

int rp_sha256_final(struct rp_sha256 *h, uint8_t out[RP_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != RP_SHA256_LEN)
		return RP_ECRYPTO;
	return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : RP_ECRYPTO;
}

void rp_sha256_free(struct rp_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int rp_sha256(const void *p, size_t n, uint8_t out[RP_SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 ||
	    len != RP_SHA256_LEN)
		return RP_ECRYPTO;
	return 0;
}

int rp_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void rp_wipe(void *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
}

int rp_random(void *out, size_t n)
{
	if (n > (size_t)INT32_MAX)
		return RP_EINVAL;
	return RAND_bytes(out, (int)n) == 1 ? 0 : RP_ECRYPTO;
}

int rp_base64_encode(const uint8_t *p, size_t n, struct rp_buf *out)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	uint8_t *tmp;
	int len, rc;

	rp_buf_init(out, need);
	if (n > (size_t)INT32_MAX / 2)
		return RP_ERANGE;
	tmp = malloc(need);
	if (!tmp)
		return RP_ENOMEM;
	len = EVP_EncodeBlock(tmp, p, (int)n);
	rc = len < 0 ? RP_ECRYPTO : rp_buf_append(out, tmp, (size_t)len);
	if (rc == 0)
		rc = rp_buf_cstr(out);
	free(tmp);
	if (rc)
		rp_buf_free(out);
	return rc;
}
