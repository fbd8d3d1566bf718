/* X.509 on OpenSSL 3: the tenant CA profile, CSRs, device certificates,
 * CRLs and client-certificate verification. Profile and reasons:
 * docs/formats/device-certificate.md. */
#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "crypto/crypto_priv.h"

struct rp_cert {
	X509 *x;
};

struct rp_csr {
	struct rp_key *key;
};

static const char csr_begin[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
static const char cert_begin[] = "-----BEGIN CERTIFICATE-----\n";

static int no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* A PEM input must start with exactly `begin` (no leading text that
 * OpenSSL would skip) and hold nothing but whitespace after its one block. */
static int pem_frame(const uint8_t *pem, size_t len, size_t cap,
		     const char *begin, const char *what, struct rp_err *e)
{
	size_t blen = strlen(begin);

	if (len > cap)
		return rp_err_set(e, RP_ERANGE, "%s: %zu bytes, at most %zu",
				  what, len, cap);
	if (len < blen || memcmp(pem, begin, blen) != 0)
		return rp_err_set(e, RP_EFORMAT, "%s: does not start with '%.*s'",
				  what, (int)(blen - 1), begin);
	if (memchr(pem, 0, len))
		return rp_err_set(e, RP_EFORMAT, "%s: contains a NUL byte", what);
	return 0;
}

/* After one PEM block was read from bio, only whitespace may remain. */
static int pem_tail(BIO *bio, const char *what, struct rp_err *e)
{
	uint8_t rest[256];
	int n, i;

	while ((n = BIO_read(bio, rest, sizeof(rest))) > 0) {
		for (i = 0; i < n; i++) {
			if (!is_space(rest[i]))
				return rp_err_set(e, RP_EFORMAT,
						  "%s: data after the PEM block", what);
		}
	}
	return 0;
}

static int bio_append(BIO *bio, struct rp_buf *out, struct rp_err *e)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);

	if (n < 0)
		return rp_err_set(e, RP_ECRYPTO, "reading memory BIO");
	if (rp_buf_append(out, p, (size_t)n) || rp_buf_cstr(out))
		return rp_err_set(e, RP_ERANGE, "output too large");
	return 0;
}

static ASN1_TIME *mk_time(int64_t t, struct rp_err *e)
{
	ASN1_TIME *a;

	/* 0001..9999 fits both UTCTime/GeneralizedTime and time_t. */
	if (t < -62135596800LL || t > 253402300799LL) {
		rp_err_set(e, RP_ERANGE, "time %lld out of range", (long long)t);
		return NULL;
	}
	a = ASN1_TIME_set(NULL, (time_t)t);
	if (!a)
		rp_ossl_fail(e, "encoding a time");
	return a;
}

static int rd_time(const ASN1_TIME *a, int64_t *out, struct rp_err *e)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return rp_err_set(e, RP_EFORMAT, "malformed time");
	t = timegm(&tm);
	*out = (int64_t)t;
	return 0;
}

/* 16 random bytes, top bit clear (positive) and second bit set (so the
 * DER INTEGER is always exactly 16 bytes). */
static ASN1_INTEGER *mk_serial(uint8_t serial[RP_SERIAL_LEN], struct rp_err *e)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;

	if (rp_random(serial, RP_SERIAL_LEN)) {
		rp_err_set(e, RP_ECRYPTO, "random serial");
		return NULL;
	}
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(serial, RP_SERIAL_LEN, NULL);
	if (bn)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (!ai)
		rp_ossl_fail(e, "encoding a serial");
	BN_free(bn);
	return ai;
}

static ASN1_INTEGER *serial_int(const uint8_t serial[RP_SERIAL_LEN],
				struct rp_err *e)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = BN_bin2bn(serial, RP_SERIAL_LEN, NULL);

	if (bn)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (!ai)
		rp_ossl_fail(e, "encoding a serial");
	BN_free(bn);
	return ai;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
		   struct rp_err *e)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return rp_ossl_fail(e, OBJ_nid2sn(nid));
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return rp_ossl_fail(e, OBJ_nid2sn(nid));
	return 0;
}

static int set_validity(X509 *x, int64_t nb, int64_t na, struct rp_err *e)
{
	ASN1_TIME *a = NULL, *b = NULL;
	int rc = RP_ECRYPTO;

	if (na <= nb)
		return rp_err_set(e, RP_ERANGE,
				  "validity: not_after must follow not_before");
	a = mk_time(nb, e);
	b = a ? mk_time(na, e) : NULL;
	if (!a || !b)
		goto out;
	if (!X509_set1_notBefore(x, a) || !X509_set1_notAfter(x, b)) {
		rc = rp_ossl_fail(e, "setting validity");
		goto out;
	}
	rc = 0;
out:
	ASN1_TIME_free(a);
	ASN1_TIME_free(b);
	return rc;
}

static const EVP_MD *md_for(EVP_PKEY *pkey)
{
	return EVP_PKEY_is_a(pkey, "ED25519") ? NULL : EVP_sha256();
}

int rp_cert_create_ca(const struct rp_key *key, const char *cn,
		      int64_t not_before, int64_t not_after,
		      struct rp_cert **out, struct rp_err *e)
{
	uint8_t serial[RP_SERIAL_LEN];
	ASN1_INTEGER *ai = NULL;
	X509_NAME *name = NULL;
	struct rp_cert *c = NULL;
	X509V3_CTX ctx;
	X509 *x = NULL;
	int rc = RP_ECRYPTO;

	if (!key || !rp_key_has_private(key) || rp_key_type(key) != RP_KEY_P256)
		return rp_err_set(e, RP_EUSAGE, "CA key must be a P-256 private key");
	if (!cn || !*cn || strlen(cn) > RP_CA_NAME_MAX)
		return rp_err_set(e, RP_EUSAGE, "CA name empty or too long");
	x = X509_new();
	name = X509_NAME_new();
	if (!x || !name) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	ai = mk_serial(serial, e);
	if (!ai)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, ai) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"Rampart", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    !X509_set_pubkey(x, rp_key_pkey(key))) {
		rc = rp_ossl_fail(e, "building CA certificate");
		goto out;
	}
	rc = set_validity(x, not_before, not_after, e);
	if (rc)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((rc = add_ext(x, &ctx, NID_basic_constraints,
			  "critical,CA:TRUE,pathlen:0", e)) ||
	    (rc = add_ext(x, &ctx, NID_key_usage,
			  "critical,keyCertSign,cRLSign", e)) ||
	    (rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", e)) ||
	    (rc = add_ext(x, &ctx, NID_authority_key_identifier,
			  "keyid:always", e)))
		goto out;
	if (X509_sign(x, rp_key_pkey(key), EVP_sha256()) <= 0) {
		rc = rp_ossl_fail(e, "signing CA certificate");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	c->x = x;
	x = NULL;
	*out = c;
	rc = 0;
out:
	X509_free(x);
	X509_NAME_free(name);
	ASN1_INTEGER_free(ai);
	return rc;
}

int rp_csr_parse(const uint8_t *pem, size_t len, struct rp_csr **out,
		 struct rp_err *e)
{
	X509_REQ *req = NULL;
	EVP_PKEY *pkey = NULL;
	struct rp_key *key = NULL;
	struct rp_csr *csr = NULL;
	BIO *bio = NULL;
	int rc, nid;

	rc = pem_frame(pem, len, RP_CSR_PEM_MAX, csr_begin, "CSR", e);
	if (rc)
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	req = PEM_read_bio_X509_REQ(bio, NULL, no_pass, NULL);
	if (!req) {
		ERR_clear_error();
		rc = rp_err_set(e, RP_EFORMAT, "CSR: not a PEM certificate request");
		goto out;
	}
	rc = pem_tail(bio, "CSR", e);
	if (rc)
		goto out;
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		rc = rp_err_set(e, RP_EFORMAT, "CSR: unsupported version");
		goto out;
	}
	pkey = X509_REQ_get_pubkey(req);
	if (!pkey) {
		ERR_clear_error();
		rc = rp_err_set(e, RP_EFORMAT, "CSR: unreadable public key");
		goto out;
	}
	rc = rp_key_wrap_pkey(pkey, 0, &key, e);
	if (rc) {
		rp_err_prefix(e, "CSR");
		goto out;
	}
	pkey = NULL; /* owned by key */
	nid = X509_REQ_get_signature_nid(req);
	if ((rp_key_type(key) == RP_KEY_P256 && nid != NID_ecdsa_with_SHA256) ||
	    (rp_key_type(key) == RP_KEY_ED25519 && nid != NID_ED25519)) {
		rc = rp_err_set(e, RP_EPOLICY,
				"CSR: signature algorithm %s does not fit its %s key",
				OBJ_nid2sn(nid), rp_key_type_name(rp_key_type(key)));
		goto out;
	}
	if (X509_REQ_verify(req, rp_key_pkey(key)) != 1) {
		ERR_clear_error();
		rc = rp_err_set(e, RP_EVERIFY,
				"CSR: signature does not verify with its own key");
		goto out;
	}
	csr = calloc(1, sizeof(*csr));
	if (!csr) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	csr->key = key;
	key = NULL;
	*out = csr;
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	rp_key_free(key);
	X509_REQ_free(req);
	BIO_free(bio);
	return rc;
}

const struct rp_key *rp_csr_key(const struct rp_csr *csr)
{
	return csr->key;
}

void rp_csr_free(struct rp_csr *csr)
{
	if (!csr)
		return;
	rp_key_free(csr->key);
	free(csr);
}

static int subject_cn(const uint8_t id[RP_KEYID_LEN], X509_NAME **out,
		      struct rp_err *e)
{
	char hex[RP_DEVICE_ID_HEX];
	X509_NAME *name = X509_NAME_new();

	rp_hex(id, RP_KEYID_LEN, hex);
	if (!name || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						 (const unsigned char *)hex,
						 -1, -1, 0)) {
		X509_NAME_free(name);
		return rp_ossl_fail(e, "building subject");
	}
	*out = name;
	return 0;
}

int rp_csr_create(const struct rp_key *key, struct rp_buf *out,
		  struct rp_err *e)
{
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	EVP_PKEY *pkey;
	int rc;

	if (!key || !rp_key_has_private(key))
		return rp_err_set(e, RP_EUSAGE, "CSR needs a private key");
	pkey = rp_key_pkey(key);
	rc = subject_cn(rp_key_id(key), &name, e);
	if (rc)
		return rc;
	req = X509_REQ_new();
	bio = BIO_new(BIO_s_mem());
	if (!req || !bio || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, pkey) ||
	    X509_REQ_sign(req, pkey, md_for(pkey)) <= 0 ||
	    !PEM_write_bio_X509_REQ(bio, req)) {
		rc = rp_ossl_fail(e, "making CSR");
		goto out;
	}
	rp_buf_init(out, RP_CSR_PEM_MAX);
	rc = bio_append(bio, out, e);
	if (rc)
		rp_buf_free(out);
out:
	X509_NAME_free(name);
	X509_REQ_free(req);
	BIO_free(bio);
	return rc;
}

int rp_cert_issue(const struct rp_cert *ca, const struct rp_key *ca_key,
		  const struct rp_csr *csr, int64_t not_before,
		  int64_t not_after, uint8_t serial[RP_SERIAL_LEN],
		  struct rp_cert **out, struct rp_err *e)
{
	uint8_t ser[RP_SERIAL_LEN];
	int64_t ca_nb, ca_na;
	ASN1_INTEGER *ai = NULL;
	X509_NAME *name = NULL;
	struct rp_cert *c = NULL;
	X509V3_CTX ctx;
	X509 *x = NULL;
	int rc;

	if (!ca || !ca_key || !csr || !rp_key_has_private(ca_key) ||
	    !rp_cert_matches_key(ca, ca_key))
		return rp_err_set(e, RP_EUSAGE, "issuing: CA key does not match CA");
	rc = rp_cert_validity(ca, &ca_nb, &ca_na, e);
	if (rc)
		return rc;
	if (not_before < ca_nb || not_after > ca_na)
		return rp_err_set(e, RP_ERANGE,
				  "issuing: validity outside the CA's");
	rc = subject_cn(rp_key_id(csr->key), &name, e);
	if (rc)
		return rc;
	x = X509_new();
	if (!x) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	ai = mk_serial(ser, e);
	if (!ai) {
		rc = RP_ECRYPTO;
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, ai) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->x)) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_pubkey(x, rp_key_pkey(csr->key))) {
		rc = rp_ossl_fail(e, "building device certificate");
		goto out;
	}
	rc = set_validity(x, not_before, not_after, e);
	if (rc)
		goto out;
	X509V3_set_ctx(&ctx, ca->x, x, NULL, NULL, 0);
	if ((rc = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", e)) ||
	    (rc = add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature", e)) ||
	    (rc = add_ext(x, &ctx, NID_ext_key_usage, "clientAuth", e)) ||
	    (rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", e)) ||
	    (rc = add_ext(x, &ctx, NID_authority_key_identifier,
			  "keyid:always", e)))
		goto out;
	if (X509_sign(x, rp_key_pkey(ca_key), EVP_sha256()) <= 0) {
		rc = rp_ossl_fail(e, "signing device certificate");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	c->x = x;
	x = NULL;
	if (serial)
		memcpy(serial, ser, RP_SERIAL_LEN);
	*out = c;
	rc = 0;
out:
	X509_free(x);
	X509_NAME_free(name);
	ASN1_INTEGER_free(ai);
	return rc;
}

static int wrap_x509(X509 *x, struct rp_cert **out, struct rp_err *e)
{
	struct rp_cert *c = calloc(1, sizeof(*c));

	if (!c) {
		X509_free(x);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	c->x = x;
	*out = c;
	return 0;
}

int rp_cert_load_pem(const uint8_t *pem, size_t len, struct rp_cert **out,
		     struct rp_err *e)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	int rc;

	rc = pem_frame(pem, len, RP_CERT_PEM_MAX, cert_begin, "certificate", e);
	if (rc)
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	x = PEM_read_bio_X509(bio, NULL, no_pass, NULL);
	if (!x) {
		ERR_clear_error();
		rc = rp_err_set(e, RP_EFORMAT, "certificate: not a PEM certificate");
		goto out;
	}
	rc = pem_tail(bio, "certificate", e);
	if (rc)
		goto out;
	rc = wrap_x509(x, out, e);
	x = NULL;
out:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

int rp_cert_load_der(const uint8_t *der, size_t len, struct rp_cert **out,
		     struct rp_err *e)
{
	const unsigned char *p = der;
	X509 *x;

	if (len > RP_CERT_PEM_MAX)
		return rp_err_set(e, RP_ERANGE, "certificate: %zu bytes, at most %d",
				  len, RP_CERT_PEM_MAX);
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		ERR_clear_error();
		return rp_err_set(e, RP_EFORMAT, "certificate: not one DER certificate");
	}
	return wrap_x509(x, out, e);
}

int rp_cert_pem(const struct rp_cert *c, struct rp_buf *out, int append,
		struct rp_err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (!append)
		rp_buf_init(out, RP_CERT_PEM_MAX);
	if (!bio || !PEM_write_bio_X509(bio, c->x)) {
		rc = rp_ossl_fail(e, "encoding certificate");
		goto out;
	}
	rc = bio_append(bio, out, e);
out:
	if (rc && !append)
		rp_buf_free(out);
	BIO_free(bio);
	return rc;
}

int rp_cert_der(const struct rp_cert *c, struct rp_buf *out, struct rp_err *e)
{
	unsigned char *der = NULL;
	int n = i2d_X509(c->x, &der);
	int rc;

	if (n <= 0)
		return rp_ossl_fail(e, "encoding certificate");
	rp_buf_init(out, RP_CERT_PEM_MAX);
	rc = rp_buf_append(out, der, (size_t)n);
	if (rc) {
		rp_buf_free(out);
		rc = rp_err_set(e, RP_ERANGE, "certificate too large");
	}
	OPENSSL_free(der);
	return rc;
}

void rp_cert_free(struct rp_cert *c)
{
	if (!c)
		return;
	X509_free(c->x);
	free(c);
}

int rp_cert_validity(const struct rp_cert *c, int64_t *not_before,
		     int64_t *not_after, struct rp_err *e)
{
	int rc = rd_time(X509_get0_notBefore(c->x), not_before, e);

	if (!rc)
		rc = rd_time(X509_get0_notAfter(c->x), not_after, e);
	return rc;
}

static int int_serial(const ASN1_INTEGER *ai, uint8_t serial[RP_SERIAL_LEN],
		      struct rp_err *e)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	int rc = 0;

	if (!bn || BN_is_negative(bn) || BN_num_bytes(bn) != RP_SERIAL_LEN ||
	    BN_bn2binpad(bn, serial, RP_SERIAL_LEN) != RP_SERIAL_LEN)
		rc = rp_err_set(e, RP_EFORMAT, "serial is not %d bytes",
				RP_SERIAL_LEN);
	ERR_clear_error();
	BN_free(bn);
	return rc;
}

int rp_cert_serial(const struct rp_cert *c, uint8_t serial[RP_SERIAL_LEN],
		   struct rp_err *e)
{
	return int_serial(X509_get0_serialNumber(c->x), serial, e);
}

int rp_cert_key_id(const struct rp_cert *c, uint8_t id[RP_KEYID_LEN],
		   struct rp_err *e)
{
	X509_PUBKEY *pub = X509_get_X509_PUBKEY(c->x);
	unsigned char *der = NULL;
	int n, rc;

	n = pub ? i2d_X509_PUBKEY(pub, &der) : -1;
	if (n <= 0)
		return rp_ossl_fail(e, "encoding certificate key");
	rc = rp_sha256(der, (size_t)n, id);
	OPENSSL_free(der);
	if (rc)
		return rp_err_set(e, rc, "hashing certificate key");
	return 0;
}

int rp_cert_device_id(const struct rp_cert *c, char out[RP_DEVICE_ID_HEX],
		      struct rp_err *e)
{
	uint8_t id[RP_KEYID_LEN];
	int rc = rp_cert_key_id(c, id, e);

	if (!rc)
		rp_hex(id, RP_KEYID_LEN, out);
	return rc;
}

int rp_cert_matches_key(const struct rp_cert *c, const struct rp_key *key)
{
	EVP_PKEY *pub;

	if (!c || !key)
		return 0;
	pub = X509_get0_pubkey(c->x);
	return pub && X509_check_ca(c->x) != 0 &&
	       EVP_PKEY_eq(pub, rp_key_pkey(key)) == 1;
}

/* The leaf's subject must be exactly one CN equal to its device ID. */
static int check_cn(X509 *x, const char *id, struct rp_err *e)
{
	const X509_NAME *name = X509_get_subject_name(x);
	const ASN1_STRING *s;
	X509_NAME_ENTRY *ent;
	int i;

	if (X509_NAME_entry_count(name) != 1)
		return rp_err_set(e, RP_EPOLICY, "subject is not one CN");
	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	ent = i >= 0 ? X509_NAME_get_entry(name, i) : NULL;
	s = ent ? X509_NAME_ENTRY_get_data(ent) : NULL;
	if (!s || ASN1_STRING_length(s) != RP_DEVICE_ID_HEX - 1 ||
	    memcmp(ASN1_STRING_get0_data(s), id, RP_DEVICE_ID_HEX - 1) != 0)
		return rp_err_set(e, RP_EPOLICY, "subject CN is not the device ID");
	return 0;
}

int rp_cert_verify_device(const struct rp_cert *leaf,
			  struct rp_cert *const *cas, size_t ncas,
			  const uint8_t (*revoked)[RP_SERIAL_LEN],
			  size_t nrevoked, int64_t now,
			  char device_id[RP_DEVICE_ID_HEX], struct rp_err *e)
{
	char id[RP_DEVICE_ID_HEX];
	uint8_t serial[RP_SERIAL_LEN];
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	X509_STORE *st = NULL;
	uint32_t flags;
	size_t i;
	int rc = RP_EUNTRUSTED;

	if (!leaf || ncas == 0 || ncas > RP_CHAIN_CAS_MAX ||
	    nrevoked > RP_REVOKED_MAX)
		return rp_err_set(e, RP_EUSAGE, "verify: bad arguments");
	/* A CA certificate is never a client: it would be its own chain. */
	if (X509_check_ca(leaf->x) != 0)
		return rp_err_set(e, RP_EPOLICY,
				  "client certificate is a CA certificate");
	flags = X509_get_extension_flags(leaf->x);
	if (!(flags & EXFLAG_KUSAGE) || !(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_key_usage(leaf->x) & KU_DIGITAL_SIGNATURE) ||
	    !(X509_get_extended_key_usage(leaf->x) & XKU_SSL_CLIENT))
		return rp_err_set(e, RP_EPOLICY,
				  "client certificate lacks digitalSignature/clientAuth");
	st = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!st || !ctx) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ncas; i++) {
		if (!cas[i] || !X509_STORE_add_cert(st, cas[i]->x)) {
			rc = rp_ossl_fail(e, "adding a CA certificate");
			goto out;
		}
	}
	if (!X509_STORE_CTX_init(ctx, st, leaf->x, NULL)) {
		rc = rp_ossl_fail(e, "verify context");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set_depth(param, 0); /* leaf directly under a CA */
	if (!X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT)) {
		rc = rp_ossl_fail(e, "verify purpose");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		int err = X509_STORE_CTX_get_error(ctx);

		ERR_clear_error();
		rc = rp_err_set(e, RP_EUNTRUSTED, "client certificate refused: %s",
				X509_verify_cert_error_string(err));
		goto out;
	}
	rc = rp_cert_device_id(leaf, id, e);
	if (rc)
		goto out;
	rc = check_cn(leaf->x, id, e);
	if (rc)
		goto out;
	rc = rp_cert_serial(leaf, serial, e);
	if (rc)
		goto out;
	for (i = 0; i < nrevoked; i++) {
		if (memcmp(revoked[i], serial, RP_SERIAL_LEN) == 0) {
			rc = rp_err_set(e, RP_EUNTRUSTED,
					"client certificate refused: revoked");
			goto out;
		}
	}
	if (device_id)
		memcpy(device_id, id, RP_DEVICE_ID_HEX);
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

int rp_crl_create(const struct rp_cert *ca, const struct rp_key *ca_key,
		  const uint8_t (*revoked)[RP_SERIAL_LEN],
		  const int64_t *revoked_at, size_t nrevoked, int64_t now,
		  int64_t next_update, uint64_t crl_number,
		  struct rp_buf *out, struct rp_err *e)
{
	ASN1_TIME *t_this = NULL, *t_next = NULL, *t_rev = NULL;
	ASN1_INTEGER *num = NULL, *ai = NULL;
	X509_REVOKED *r = NULL;
	X509_EXTENSION *ext = NULL;
	X509_CRL *crl = NULL;
	BIO *bio = NULL;
	X509V3_CTX ctx;
	size_t i;
	int rc = RP_ECRYPTO;

	if (!ca || !ca_key || !rp_key_has_private(ca_key) ||
	    !rp_cert_matches_key(ca, ca_key))
		return rp_err_set(e, RP_EUSAGE, "CRL: CA key does not match CA");
	if (nrevoked > RP_REVOKED_MAX || next_update <= now)
		return rp_err_set(e, RP_EUSAGE, "CRL: bad arguments");
	crl = X509_CRL_new();
	num = ASN1_INTEGER_new();
	bio = BIO_new(BIO_s_mem());
	t_this = mk_time(now, e);
	t_next = t_this ? mk_time(next_update, e) : NULL;
	if (!crl || !num || !bio || !t_this || !t_next) {
		if (!t_this || !t_next)
			goto out;
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->x)) ||
	    !X509_CRL_set1_lastUpdate(crl, t_this) ||
	    !X509_CRL_set1_nextUpdate(crl, t_next)) {
		rc = rp_ossl_fail(e, "building CRL");
		goto out;
	}
	for (i = 0; i < nrevoked; i++) {
		ai = serial_int(revoked[i], e);
		t_rev = ai ? mk_time(revoked_at[i], e) : NULL;
		r = X509_REVOKED_new();
		if (!ai || !t_rev || !r ||
		    !X509_REVOKED_set_serialNumber(r, ai) ||
		    !X509_REVOKED_set_revocationDate(r, t_rev) ||
		    !X509_CRL_add0_revoked(crl, r)) {
			rc = rp_ossl_fail(e, "CRL entry");
			goto out;
		}
		r = NULL;
		ASN1_INTEGER_free(ai);
		ai = NULL;
		ASN1_TIME_free(t_rev);
		t_rev = NULL;
	}
	X509V3_set_ctx(&ctx, ca->x, NULL, NULL, crl, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
				  "keyid:always");
	if (!ASN1_INTEGER_set_uint64(num, crl_number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !ext ||
	    !X509_CRL_add_ext(crl, ext, -1) || !X509_CRL_sort(crl) ||
	    X509_CRL_sign(crl, rp_key_pkey(ca_key), EVP_sha256()) <= 0 ||
	    !PEM_write_bio_X509_CRL(bio, crl)) {
		rc = rp_ossl_fail(e, "signing CRL");
		goto out;
	}
	rc = bio_append(bio, out, e);
out:
	X509_REVOKED_free(r);
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(ai);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t_rev);
	ASN1_TIME_free(t_this);
	ASN1_TIME_free(t_next);
	X509_CRL_free(crl);
	BIO_free(bio);
	return rc;
}
