/* Request bodies of the HTTP API, decoded strictly: one JSON object of
 * at most RP_API_BODY_MAX bytes, known keys only (an unknown key is
 * refused naming it), each value of the right type and within the model's
 * name rules. Pure: no I/O; fuzzed by fuzz/fuzz_api.c.
 *
 * Each decoder fills a caller-owned fixed-size struct; on error e names the
 * field ("name: must be 1 to 50 characters", "colour: unknown key"). */
#ifndef RP_SERVICE_API_H
#define RP_SERVICE_API_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/x509.h"
#include "service/model.h"

#define RP_API_BODY_MAX (64 * 1024)

struct rp_api_tenant_req {
	char name[RP_NAME_MAX + 1];
};

struct rp_api_product_req {
	char name[RP_NAME_MAX + 1];
	char description[RP_DESC_MAX + 1]; /* optional; "" when absent */
};

struct rp_api_role_req {
	char user[RP_USER_MAX + 1];
	enum rp_role role;
};

struct rp_api_token_req {
	char user[RP_USER_MAX + 1];
};

struct rp_api_claim_req {
	char device_id[RP_DEVICE_ID_HEX];
	char product[RP_ID_LEN + 1];      /* "" when absent */
	char device_group[RP_ID_LEN + 1]; /* "" when absent */
};

struct rp_api_enroll_token_req {
	char product[RP_ID_LEN + 1];      /* "" when absent */
	char device_group[RP_ID_LEN + 1]; /* "" when absent */
	int64_t expires_in;               /* seconds; default 3600 */
};

struct rp_api_enroll_req {
	char token[RP_TOKEN_TEXT_LEN + 1];
	char csr[RP_CSR_PEM_MAX + 1];
	size_t csr_len;
};

struct rp_api_cert_req {
	char tenant[RP_ID_LEN + 1];
	char csr[RP_CSR_PEM_MAX + 1];
	size_t csr_len;
};

struct rp_api_signing_key_req {
	char public_key[4096 + 1]; /* RP_PUBKEY_PEM_MAX */
	size_t len;
};

#define RP_API_DEPLOY_IMAGES_MAX 32 /* RP_DEPLOY_IMAGES_MAX */

struct rp_api_deployment_req {
	size_t n;
	char images[RP_API_DEPLOY_IMAGES_MAX][RP_ID_LEN + 1];
};

/* {"name": NAME} */
int rp_api_decode_tenant(const uint8_t *buf, size_t len,
			 struct rp_api_tenant_req *out, struct rp_err *e) RP_WUR;
/* {"name": NAME, "description"?: TEXT} */
int rp_api_decode_product(const uint8_t *buf, size_t len,
			  struct rp_api_product_req *out, struct rp_err *e) RP_WUR;
/* {"user": USER, "role": "Administrator"|"Contributor"|"Reader"} */
int rp_api_decode_role(const uint8_t *buf, size_t len,
		       struct rp_api_role_req *out, struct rp_err *e) RP_WUR;
/* {"user": USER} */
int rp_api_decode_token(const uint8_t *buf, size_t len,
			struct rp_api_token_req *out, struct rp_err *e) RP_WUR;

/* {} or an empty body (POST actions that take no parameters) */
int rp_api_decode_empty(const uint8_t *buf, size_t len, struct rp_err *e) RP_WUR;
/* {"device_id": HEX64, "product"?: ID, "device_group"?: ID} */
int rp_api_decode_claim(const uint8_t *buf, size_t len,
			struct rp_api_claim_req *out, struct rp_err *e) RP_WUR;
/* {"product"?: ID, "device_group"?: ID, "expires_in"?: 1..2592000} */
int rp_api_decode_enroll_token(const uint8_t *buf, size_t len,
			       struct rp_api_enroll_token_req *out,
			       struct rp_err *e) RP_WUR;
/* {"token": "rpe_...", "csr": PEM} (the CSR itself is checked later, by
 * rp_csr_parse) */
int rp_api_decode_enroll(const uint8_t *buf, size_t len,
			 struct rp_api_enroll_req *out, struct rp_err *e) RP_WUR;
/* {"tenant": ID, "csr": PEM} */
int rp_api_decode_cert(const uint8_t *buf, size_t len,
		       struct rp_api_cert_req *out, struct rp_err *e) RP_WUR;

/* {"public_key": PEM} (1..4096 bytes; the key itself is checked by the
 * model) */
int rp_api_decode_signing_key(const uint8_t *buf, size_t len,
			      struct rp_api_signing_key_req *out,
			      struct rp_err *e) RP_WUR;
/* {"images": [ID, ...]}: 0..RP_API_DEPLOY_IMAGES_MAX distinct ids */
int rp_api_decode_deployment(const uint8_t *buf, size_t len,
			     struct rp_api_deployment_req *out,
			     struct rp_err *e) RP_WUR;

/* ---- devices: POST /v1/device/checkin (docs/formats/checkin.md) ---- */

#define RP_API_CHECKIN_MAX (256 * 1024)  /* body, bytes */
#define RP_CHECKIN_INSTALLED_MAX 64
#define RP_CHECKIN_REPORTS_MAX 64
#define RP_VERSION_TEXT_MAX 32           /* [0-9A-Za-z.+~-], 1..32 */
#define RP_APP_NAME_MAX 64               /* bytes, no control characters */
#define RP_REPORT_DESC_MAX 256           /* printable ASCII */
#define RP_JSON_INT_MAX ((INT64_C(1) << 53) - 1)

struct rp_api_installed {
	char component_id[RP_ID_LEN + 1];  /* lower-case GUID */
	char image_id[RP_ID_LEN + 1];      /* lower-case GUID */
	char version[RP_VERSION_TEXT_MAX + 1];
	uint32_t security_version;
	char name[RP_APP_NAME_MAX + 1];    /* may be "" */
};

struct rp_api_report {
	uint64_t seq;                      /* 1..2^53-1 */
	uint64_t time;                     /* 0..2^53-1 */
	char component_id[RP_ID_LEN + 1];
	char app_name[RP_APP_NAME_MAX + 1];
	const char *event_type;            /* "AppExit" | "AppCrash" | "AppStartFailed" */
	const char *event_class;           /* "Planned" | "Unplanned" */
	int64_t exit_code;                 /* -2^31..2^31-1; 0 when absent */
	int64_t signal;                    /* 0..255; 0 when absent */
	char description[RP_REPORT_DESC_MAX + 1];
	char image_version[RP_VERSION_TEXT_MAX + 1]; /* may be "" */
	uint32_t security_version;
};

/* Big (about 40 KiB): allocate it, do not put it on the stack. */
struct rp_api_checkin_req {
	char runtime_version[RP_VERSION_TEXT_MAX + 1];
	uint64_t time;                     /* device clock */
	uint64_t targets_version;          /* last accepted, 0 if none */
	size_t ninstalled;
	struct rp_api_installed installed[RP_CHECKIN_INSTALLED_MAX];
	size_t nreports;
	struct rp_api_report reports[RP_CHECKIN_REPORTS_MAX];
};

/* {"runtime_version": V, "time": N, "targets_version": N,
 *  "installed"?: [INSTALLED], "error_reports"?: [REPORT]} with the rules
 * of docs/formats/checkin.md; at most RP_API_CHECKIN_MAX bytes. GUIDs
 * may be in either case and are stored lower-case. */
int rp_api_decode_checkin(const uint8_t *buf, size_t len,
			  struct rp_api_checkin_req *out, struct rp_err *e) RP_WUR;

/* PUT .../devices/{d}/device-group: {"device_group": ID, "product"?: ID} */
struct rp_api_device_group_req {
	char product[RP_ID_LEN + 1];      /* "" when absent */
	char device_group[RP_ID_LEN + 1];
};
int rp_api_decode_device_group(const uint8_t *buf, size_t len,
			       struct rp_api_device_group_req *out,
			       struct rp_err *e) RP_WUR;

/* GET .../error-reports?product=ID&device_group=ID&device=HEX64&since=N
 * &until=N&format=csv|json: each key at most once, unknown keys refused;
 * values are ids, hex and digits only (no percent-encoding needed, none
 * accepted). q may be NULL (no query). */
struct rp_api_report_query {
	char product[RP_ID_LEN + 1];      /* "" when absent */
	char device_group[RP_ID_LEN + 1];
	char device[RP_DEVICE_ID_HEX];    /* lower-case */
	int64_t since, until;             /* -1 when absent */
	int csv;                          /* format=csv */
};
#define RP_API_QUERY_MAX 1024
int rp_api_decode_report_query(const char *q, struct rp_api_report_query *out,
			       struct rp_err *e) RP_WUR;

/* An HTTP Range header (RFC 9110) against a resource of size bytes. Only
 * one range of unit "bytes" is served: "a-b", "a-" or "-n". Returns 0 to
 * send the whole resource (no header, or one this server ignores: another
 * unit, several ranges, bad syntax), 1 with [*off, *off + *len) to send
 * 206, or RP_ERANGE for 416 (no byte of the range exists). hdr may be
 * NULL. */
int rp_api_range(const char *hdr, uint64_t size, uint64_t *off, uint64_t *len);

#endif
