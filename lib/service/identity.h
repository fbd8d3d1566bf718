/* Device identity in the service: each tenant's certificate authority
 * (its keys only in rampart-signer, lib/ca/client.h), device claims,
 * single-use enrollment tokens, device certificates and their
 * revocation. Design: docs/DESIGN.md, "Device admission".
 *
 * A device is named by its device ID, the lower-case hex SHA-256 of its
 * public key's DER SubjectPublicKeyInfo; one device ID belongs to at most
 * one tenant. A tenant's CA is made lazily, on the first call that needs
 * it (claim, certificate, CA download), so that making a tenant never
 * depends on the signer.
 *
 * Operator calls take a principal and check it as model.h describes;
 * device calls (enroll, certificate) are authenticated only by what they
 * carry: the enrollment token, or a CSR whose signature proves the
 * device key. Every change writes an audit row. Errors as model.h, plus
 * -ENOSYS (503) when the model has no signer. */
#ifndef RP_SERVICE_IDENTITY_H
#define RP_SERVICE_IDENTITY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/x509.h"
#include "service/model.h"

#define RP_CERT_VALIDITY_DEFAULT 86400LL   /* device certificates: 24 h */
#define RP_ENROLL_PREFIX "rpe_"
#define RP_ENROLL_TEXT_LEN 68              /* "rpe_" + 64 hex digits */
#define RP_ENROLL_TTL_DEFAULT 3600LL       /* enrollment token, s */
#define RP_ENROLL_TTL_MAX (30 * 86400LL)
#define RP_DEVICE_LIST_MAX 10000           /* devices in one listing */
#define RP_PEM_BUNDLE_MAX (64 * 1024)      /* CA or CRL bundle, bytes */

/* 1 if s is 64 hex digits (either case). */
int rp_identity_is_device_id(const char *s);

/* Reader: the tenant's valid CA certificates, newest first, as JSON
 * {"certificates": [{generation, not_before, not_after, pem}], "pem":
 * bundle} in *out and as a PEM bundle in pem (initialised here,
 * rp_buf_free). Makes the CA if the tenant has none. */
int rp_identity_ca_certs(struct rp_model *m, const struct rp_principal *p,
			 const char *tenant, json_t **out, struct rp_buf *pem,
			 struct rp_err *e) RP_WUR;
/* Reader: the tenant's CRLs (one per valid CA), PEM, in pem
 * (initialised here, rp_buf_free). */
int rp_identity_crl(struct rp_model *m, const struct rp_principal *p,
		    const char *tenant, struct rp_buf *pem,
		    struct rp_err *e) RP_WUR;

/* Contributor: claim device_id (64 hex) for the tenant, optionally in a
 * product and device group of the tenant (either may be "" or NULL; a
 * group implies its product). -EEXIST if any tenant claimed it already
 * (the answer is the same whichever tenant that is). */
int rp_identity_claim(struct rp_model *m, const struct rp_principal *p,
		      const char *tenant, const char *device_id,
		      const char *product, const char *group, json_t **out,
		      struct rp_err *e) RP_WUR;
/* Reader. */
int rp_identity_device_list(struct rp_model *m, const struct rp_principal *p,
			    const char *tenant, json_t **out,
			    struct rp_err *e) RP_WUR;
int rp_identity_device_get(struct rp_model *m, const struct rp_principal *p,
			   const char *tenant, const char *device_id,
			   json_t **out, struct rp_err *e) RP_WUR;
/* Contributor: revoke every unexpired certificate of the device through
 * the signer (they appear in the tenant's CRL) and refuse it further
 * certificates. Revoking twice is fine. */
int rp_identity_device_revoke(struct rp_model *m, const struct rp_principal *p,
			      const char *tenant, const char *device_id,
			      json_t **out, struct rp_err *e) RP_WUR;

/* Administrator: a single-use enrollment token valid ttl seconds (1 to
 * RP_ENROLL_TTL_MAX), optionally naming a product and device group for
 * the devices it admits. The result holds the token text, shown this
 * once; only its SHA-256 is stored. */
int rp_identity_enroll_token_create(struct rp_model *m,
				    const struct rp_principal *p,
				    const char *tenant, const char *product,
				    const char *group, int64_t ttl,
				    json_t **out, struct rp_err *e) RP_WUR;

/* A device with an enrollment token: consume the token (once, before it
 * expires; -EACCES otherwise, the same for unknown, used and expired),
 * claim the device whose ID is the key id of the PEM CSR csr[0..len) for
 * the token's tenant, and issue its certificate (as below). */
int rp_identity_enroll(struct rp_model *m, const char *token,
		       const uint8_t *csr, size_t len, json_t **out,
		       struct rp_err *e) RP_WUR;

/* A device asking for its certificate (first or renewal): the CSR is
 * parsed and verified here (rp_csr_parse) before it reaches the signer;
 * its key id must be a device claimed by tenant and not revoked, else
 * -EPERM with one message whatever the reason (unknown tenant, unclaimed,
 * another tenant's, revoked). The certificate is valid from now for
 * m->cert_validity; the result has {device_id, serial, certificate (PEM),
 * not_before, not_after, renew_after (two thirds of its life)}. */
int rp_identity_certificate(struct rp_model *m, const char *tenant,
			    const uint8_t *csr, size_t len, json_t **out,
			    struct rp_err *e) RP_WUR;

#endif
