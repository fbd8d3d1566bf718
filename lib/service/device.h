/* The devices' own API: mutual-TLS authentication of a device by its
 * client certificate, check-in (what it runs, its error reports, and a
 * freshly signed targets document for it), its image downloads, and the
 * tenant's targets key. Operators' side: moving a device to a device
 * group and the tenant's targets key. Design: docs/DESIGN.md, "Device
 * check-in"; wire format: docs/formats/checkin.md.
 *
 * A device's identity comes only from its certificate: the tenant, device
 * group and product are the ones the database records for the device ID
 * the certificate's key hashes to, and the certificate must chain to that
 * tenant's CA. Nothing in a device request's path or body can name
 * another tenant, group or device.
 *
 * Errors as model.h; authentication failures are -EACCES with the reason
 * in e ("client certificate refused: ..."), which the HTTP layer logs and
 * never sends. */
#ifndef RP_SERVICE_DEVICE_H
#define RP_SERVICE_DEVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/x509.h"
#include "service/api.h"
#include "service/model.h"

#define RP_CHECKIN_INTERVAL_DEFAULT 3600LL       /* next_checkin_s */
#define RP_TARGETS_LIFETIME_DEFAULT (7 * 86400LL) /* expires - issued_at */
#define RP_CHECKIN_RESOLUTION 60    /* s: last_checkin is rewritten when older */
#define RP_TENANT_CACHE_TTL 60      /* s a tenant's CA set is trusted from cache */
#define RP_TENANT_CACHE_RETRY 5     /* s: a refusal older than this refetches */
#define RP_TENANT_CACHE_MAX 256     /* tenants cached; the least recent goes */
#define RP_REPORTS_PER_DEVICE 10000 /* rows kept per device; oldest seq dropped */
#define RP_REPORTS_PER_DEVICE_TEXT "10000" /* the same, for SQL text */
#define RP_REPORTS_LIST_MAX 1000    /* aggregated rows in one listing */
#define RP_REPORTS_WINDOW (14 * 86400LL) /* default listing window */
#define RP_REPORTS_CSV_MAX (1024 * 1024)  /* CSV answer, bytes */
/* The group of a device in no device group, in targets documents. */
#define RP_NO_GROUP "00000000-0000-0000-0000-000000000000"

/* ---- the per-tenant cache ------------------------------------------------ */

/* A cache of each tenant's CA certificates (parsed, for verifying client
 * certificates) and targets key, refreshed after RP_TENANT_CACHE_TTL
 * seconds, so a check-in costs no signer round trip but the signature.
 * Owned by the caller (rp_tenant_cache_free); borrowed by the model. */
int rp_tenant_cache_new(struct rp_tenant_cache **out, struct rp_err *e) RP_WUR;
void rp_tenant_cache_free(struct rp_tenant_cache *c); /* accepts NULL */
/* Drop what is cached for tenant (a new CA generation was made). */
void rp_tenant_cache_forget(struct rp_tenant_cache *c, const char *tenant);

/* ---- devices ------------------------------------------------------------- */

/* Who is calling, from its verified certificate and the database. */
struct rp_device_principal {
	char id[RP_DEVICE_ID_HEX];
	char tenant[RP_ID_LEN + 1];
	char product[RP_ID_LEN + 1];  /* "" when in none */
	char group[RP_ID_LEN + 1];    /* "" when in none */
	int64_t not_before, not_after; /* of the certificate presented */
	char serial[RP_SERIAL_HEX];    /* its serial, hex */
};

/* Authenticate the client certificate der[0..len) (len 0: none presented)
 * at time now: its key's id must be a device claimed by some tenant, the
 * certificate must verify against that tenant's CA certificates
 * (rp_cert_verify_device: chain, X509_STRICT, sslclient, validity, CN =
 * device ID), the device must not be revoked, and the certificate's
 * serial must be one the service issued to this device and did not
 * revoke. -EACCES otherwise (reason in e); -ENOSYS without a signer. */
int rp_device_authenticate(struct rp_model *m, const uint8_t *der, size_t len,
			   int64_t now, struct rp_device_principal *out,
			   struct rp_err *e) RP_WUR;

/* Authenticate again a request on a TLS connection whose certificate
 * rp_device_authenticate accepted at verified_at, giving verified (what it
 * returned then): without parsing or verifying the certificate again, the
 * certificate must still be valid at now, the device not revoked and
 * still the same tenant's, and its serial recorded and not revoked (one
 * indexed lookup). The product and group are read afresh into *out. 0,
 * -EACCES (refused: reason in e), or 1 when the verification is older
 * than RP_TENANT_CACHE_TTL: the caller verifies in full again, so a CA
 * dropped from the tenant's set stops being trusted on a long-lived
 * connection as soon as it would through the tenant cache. */
int rp_device_reauthenticate(struct rp_model *m,
			     const struct rp_device_principal *verified,
			     int64_t verified_at, int64_t now,
			     struct rp_device_principal *out,
			     struct rp_err *e) RP_WUR;

/* POST /v1/device/checkin with the decoded body r: record what the device
 * reports, store its new error reports (deduplicated on (device, seq);
 * at most RP_REPORTS_PER_DEVICE kept), and answer with a targets document
 * for the device (its group's current deployment). That is the document
 * last issued to the device, the same bytes, while its group and the
 * group's deployment are unchanged and it is younger than the model's
 * targets_reissue (default half its lifetime); otherwise a new one,
 * numbered by the group's counter and signed by the tenant's targets key
 * in rampart-signer. A check-in that changes nothing the device reported
 * and carries no reports writes nothing unless last_checkin is
 * RP_CHECKIN_RESOLUTION old. */
int rp_device_checkin(struct rp_model *m, const struct rp_device_principal *d,
		      const struct rp_api_checkin_req *r, json_t **out,
		      struct rp_err *e) RP_WUR;

/* GET /v1/device/images/{image}/content: open the stored file of an image
 * in the current deployment of the device's group (-ENOENT otherwise,
 * whether or not it exists elsewhere). As rp_images_open. */
int rp_device_image_open(struct rp_model *m, const struct rp_device_principal *d,
			 const char *image, int *fd, uint64_t *size,
			 char sha256[65], struct rp_err *e) RP_WUR;

/* The tenant's targets key: {pem, key_id} in *out and the PEM in pem
 * (initialised here, rp_buf_free). The device form takes the tenant from
 * the principal; the operator form needs Reader. */
int rp_device_targets_key(struct rp_model *m, const struct rp_device_principal *d,
			  json_t **out, struct rp_buf *pem, struct rp_err *e) RP_WUR;
int rp_tenant_targets_key(struct rp_model *m, const struct rp_principal *p,
			  const char *tenant, json_t **out, struct rp_buf *pem,
			  struct rp_err *e) RP_WUR;

/* Add "targets_key" (PEM) and "ca_certificates" (PEM bundle) of tenant to
 * obj: what a device pins when it gets its certificate. */
int rp_device_trust_json(struct rp_model *m, const char *tenant, json_t *obj,
			 struct rp_err *e) RP_WUR;

/* Contributor: move device_id into group (a group of the tenant; product,
 * when not "", must be the group's). The result is the device object. */
int rp_device_set_group(struct rp_model *m, const struct rp_principal *p,
			const char *tenant, const char *device_id,
			const char *product, const char *group, json_t **out,
			struct rp_err *e) RP_WUR;

/* ---- error reports (operators) ------------------------------------------- */

/* Reader: the tenant's error reports matching q, aggregated per (device,
 * component, event type, event class, description) over the window
 * [since, until] (default: the last RP_REPORTS_WINDOW seconds), newest
 * end first, at most RP_REPORTS_LIST_MAX rows: as JSON
 * {"error_reports": [...]} in *out, or, when q->csv, as CSV text in csv
 * (initialised here either way, rp_buf_free). */
int rp_reports_list(struct rp_model *m, const struct rp_principal *p,
		    const char *tenant, const struct rp_api_report_query *q,
		    json_t **out, struct rp_buf *csv, struct rp_err *e) RP_WUR;

#endif
