/* X.509 for the tenant certificate authorities: CA certificates, device
 * certificates issued from a CSR, CRLs, and verification of a device's
 * client certificate against its tenant's CAs at a given time. Profile:
 * docs/formats/device-certificate.md.
 *
 * Algorithms: CA keys are ECDSA P-256 and sign with SHA-256 (what every
 * MQTT broker, cloud IoT hub and TLS stack accepts, and what hardware key
 * stores speak). Device keys may be P-256 or Ed25519.
 *
 * Device ID: the lower-case hex SHA-256 of the device key's DER
 * SubjectPublicKeyInfo, that is rp_key_id() of the device key, 64 hex
 * characters. A device certificate's subject is CN=<device ID>; the CSR's
 * subject is ignored.
 *
 * Times are seconds since the epoch (int64_t), always passed explicitly so
 * tests pin the clock. All inputs are bounded; every object here is owned
 * by the caller and freed with its _free function (which accepts NULL). */
#ifndef RP_CRYPTO_X509_H
#define RP_CRYPTO_X509_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"

#define RP_CSR_PEM_MAX 4096          /* a PEM CSR, bytes */
#define RP_CERT_PEM_MAX 8192         /* a PEM certificate, bytes */
#define RP_SERIAL_LEN 16             /* random serials: 128 bits */
#define RP_SERIAL_HEX (RP_SERIAL_LEN * 2 + 1)
#define RP_DEVICE_ID_HEX (RP_KEYID_LEN * 2 + 1) /* 64 hex + NUL */
#define RP_CA_NAME_MAX 128           /* CA common name, bytes */
#define RP_CHAIN_CAS_MAX 4           /* trusted CAs per verification */
#define RP_REVOKED_MAX 1024          /* serials in a CRL or revoked list */

struct rp_cert; /* one X.509 certificate; free with rp_cert_free */
struct rp_csr;  /* a verified CSR; free with rp_csr_free */

/* A self-signed CA certificate for key (must be P-256 with its private
 * half): subject and issuer CN=cn, O=Rampart; random 128-bit serial;
 * basicConstraints CA:TRUE pathlen:0 critical; keyUsage keyCertSign,
 * cRLSign critical; subject and authority key identifiers. */
int rp_cert_create_ca(const struct rp_key *key, const char *cn,
		      int64_t not_before, int64_t not_after,
		      struct rp_cert **out, struct rp_err *e) RP_WUR;

/* Parse len bytes (at most RP_CSR_PEM_MAX) of untrusted input as exactly
 * one PEM "CERTIFICATE REQUEST" (whitespace may follow, nothing else),
 * check its version, that its key is P-256 or Ed25519, and that it is
 * signed by that key (ECDSA with SHA-256, or Ed25519). Attributes and
 * requested extensions are ignored: nothing of a CSR but its key reaches
 * a certificate. */
int rp_csr_parse(const uint8_t *pem, size_t len, struct rp_csr **out,
		 struct rp_err *e) RP_WUR;
/* The CSR's public key (owned by csr). */
const struct rp_key *rp_csr_key(const struct rp_csr *csr);
void rp_csr_free(struct rp_csr *csr);
/* Make a PEM CSR signed by key (for devices and tests); the subject is
 * CN=<device ID>. out is initialised here (rp_buf_free). */
int rp_csr_create(const struct rp_key *key, struct rp_buf *out,
		  struct rp_err *e) RP_WUR;

/* A device certificate for the CSR's key, issued by ca (whose private key
 * is ca_key): subject CN=<device ID>; validity [not_before, not_after],
 * which must lie inside the CA's; random 128-bit serial (written to
 * serial if not NULL); basicConstraints CA:FALSE critical; keyUsage
 * digitalSignature critical; extendedKeyUsage clientAuth; subject and
 * authority key identifiers. */
int rp_cert_issue(const struct rp_cert *ca, const struct rp_key *ca_key,
		  const struct rp_csr *csr, int64_t not_before,
		  int64_t not_after, uint8_t serial[RP_SERIAL_LEN],
		  struct rp_cert **out, struct rp_err *e) RP_WUR;

/* Parse one PEM certificate (at most RP_CERT_PEM_MAX bytes; whitespace
 * may follow) or one DER certificate (exactly len bytes). */
int rp_cert_load_pem(const uint8_t *pem, size_t len, struct rp_cert **out,
		     struct rp_err *e) RP_WUR;
int rp_cert_load_der(const uint8_t *der, size_t len, struct rp_cert **out,
		     struct rp_err *e) RP_WUR;
/* Encodings; out is initialised here (rp_buf_free). rp_cert_pem appends
 * to out instead when append is nonzero (out must be initialised). */
int rp_cert_pem(const struct rp_cert *c, struct rp_buf *out, int append,
		struct rp_err *e) RP_WUR;
int rp_cert_der(const struct rp_cert *c, struct rp_buf *out,
		struct rp_err *e) RP_WUR;
void rp_cert_free(struct rp_cert *c);

/* Facts about a certificate (not verified: verify first). */
int rp_cert_validity(const struct rp_cert *c, int64_t *not_before,
		     int64_t *not_after, struct rp_err *e) RP_WUR;
/* The serial when it is exactly RP_SERIAL_LEN bytes (ours always are);
 * RP_EFORMAT otherwise. */
int rp_cert_serial(const struct rp_cert *c, uint8_t serial[RP_SERIAL_LEN],
		   struct rp_err *e) RP_WUR;
/* The key id of the certificate's public key (SHA-256 of its DER
 * SubjectPublicKeyInfo) and its hex form, the device ID. */
int rp_cert_key_id(const struct rp_cert *c, uint8_t id[RP_KEYID_LEN],
		   struct rp_err *e) RP_WUR;
int rp_cert_device_id(const struct rp_cert *c, char out[RP_DEVICE_ID_HEX],
		      struct rp_err *e) RP_WUR;
/* 1 if c is a CA certificate whose public key is key's, else 0. */
int rp_cert_matches_key(const struct rp_cert *c, const struct rp_key *key);

/* Verify a device's client certificate at time now against the tenant's
 * CA certificates cas[0..ncas) (ncas <= RP_CHAIN_CAS_MAX; each is trusted
 * as a root): the chain is leaf -> one of cas, every signature and
 * validity period checks at now, the leaf is not a CA, has keyUsage
 * digitalSignature and extendedKeyUsage clientAuth, its CN is its device
 * ID, and its serial is not among revoked[0..nrevoked). On success the
 * device ID is written to device_id (if not NULL). Refusals are
 * RP_EUNTRUSTED (chain, time, revocation) or RP_EPOLICY (profile). */
int rp_cert_verify_device(const struct rp_cert *leaf,
			  struct rp_cert *const *cas, size_t ncas,
			  const uint8_t (*revoked)[RP_SERIAL_LEN],
			  size_t nrevoked, int64_t now,
			  char device_id[RP_DEVICE_ID_HEX],
			  struct rp_err *e) RP_WUR;

/* A CRL signed by ca/ca_key listing revoked[0..nrevoked) (at most
 * RP_REVOKED_MAX), each with its revocation time revoked_at[i];
 * thisUpdate now, nextUpdate next_update, cRLNumber crl_number,
 * authorityKeyIdentifier. The PEM is appended to out (initialised by the
 * caller). */
int rp_crl_create(const struct rp_cert *ca, const struct rp_key *ca_key,
		  const uint8_t (*revoked)[RP_SERIAL_LEN],
		  const int64_t *revoked_at, size_t nrevoked, int64_t now,
		  int64_t next_update, uint64_t crl_number,
		  struct rp_buf *out, struct rp_err *e) RP_WUR;

#endif
