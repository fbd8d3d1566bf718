/* The signing process (rampart-signer): it alone holds the tenants' CA
 * private keys and answers a tiny request protocol from rampart-server.
 * Why a process and not an OpenSSL provider: docs/DESIGN.md, "Certificate
 * authority". Wire format: docs/formats/device-certificate.md.
 *
 * Transport: one unix SOCK_SEQPACKET socket (the server's end of a
 * socketpair). One message is one request, a JSON object of at most
 * RP_SIGNER_REQ_MAX bytes; each request gets exactly one response, a JSON
 * object of at most RP_SIGNER_RESP_MAX bytes:
 *   {"v":1,"op":"create-ca","tenant":T}
 *   {"v":1,"op":"issue","tenant":T,"csr":PEM,"not_before":N,"not_after":N}
 *   {"v":1,"op":"ca-cert","tenant":T}
 *   {"v":1,"op":"revoke","tenant":T,"serial":HEX32}
 *   {"v":1,"op":"crl","tenant":T}
 *   {"v":1,"op":"image-key","tenant":T}
 *   {"v":1,"op":"sign-image","tenant":T,"header":HEX512}
 *   {"v":1,"op":"targets-key","tenant":T}
 *   {"v":1,"op":"sign-targets","tenant":T,"region":HEX}
 *   -> {"v":1,"ok":true,"result":{...}} | {"v":1,"ok":false,"code":N,"error":S}
 * Requests are decoded strictly (unknown keys, keys of another op, wrong
 * types, out-of-range numbers, a wrong version are refused, naming the
 * key) and every request is re-validated by the signer whatever the
 * server checked: tenant id format, CSR (size, signature, key type),
 * validity window against the signer's clock and its configured maximum.
 * No response ever carries private key material.
 *
 * Key directory (created 0700 if missing; refused if group/other may
 * access it or it is not a directory owned by us):
 *   <keydir>/<tenant>/ca-<gen>.key   PKCS#8 PEM, 0600
 *   <keydir>/<tenant>/ca-<gen>.pem   the CA certificate, 0600
 *   <keydir>/<tenant>/revoked        "<serial hex> <revoked_at>\n" lines
 *   <keydir>/<tenant>/image.key      the tenant's Ed25519 production image
 *                                    key, PKCS#8 PEM, 0600 (made on first use)
 *   <keydir>/<tenant>/targets.key    the tenant's Ed25519 targets key (same)
 *
 * sign-image signs only what can be an image package header: exactly
 * RP_SIGNER_HEADER_LEN bytes starting with the package magic "RAMPIMG\0",
 * so the production key is no signing oracle for other formats (targets
 * documents, certificates). The header travels as lower-case hex.
 *
 * sign-targets signs only a targets document's signed region (header and
 * payload, docs/formats/targets.md) of at most RP_SIGNER_REGION_MAX bytes
 * whose payload decodes strictly and names the request's tenant: the
 * targets key signs nothing else and nothing for another tenant. The
 * region travels as lower-case hex.
 */
#ifndef RP_CA_SIGNER_H
#define RP_CA_SIGNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/x509.h"

#define RP_SIGNER_VERSION 1
#define RP_SIGNER_REQ_MAX (64 * 1024)    /* one request, bytes */
#define RP_SIGNER_RESP_MAX (160 * 1024)  /* one response, bytes */
#define RP_TENANT_MAX 64                 /* tenant id: [a-z0-9][a-z0-9-]* */
#define RP_SIGNER_GEN_MAX 999            /* CA generations per tenant */
#define RP_SIGNER_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define RP_SIGNER_HEADER_LEN 256         /* sign-image: a package header */
#define RP_SIGNER_HEADER_MAGIC "RAMPIMG" /* 8 bytes with its NUL */
/* sign-targets: a targets signed region (16-byte header + payload). 24 KiB
 * holds a document of RP_TARGETS_IMAGES_MAX images with room to spare;
 * as hex it fits RP_SIGNER_REQ_MAX. */
#define RP_SIGNER_REGION_MAX (24 * 1024)

/* Defaults of struct rp_signer_cfg. */
#define RP_SIGNER_MAX_VALIDITY (7 * 86400LL)   /* device certificate */
#define RP_SIGNER_CA_LIFETIME (730 * 86400LL)  /* two years */
#define RP_SIGNER_ROLLOVER (90 * 86400LL)      /* new CA this long before */
#define RP_SIGNER_CRL_LIFETIME 86400LL         /* CRL nextUpdate - now */
#define RP_SIGNER_SKEW 3600LL                  /* not_before vs. our clock */

enum rp_signer_op {
	RP_SIGNER_CREATE_CA = 1, /* "create-ca" */
	RP_SIGNER_ISSUE,         /* "issue" */
	RP_SIGNER_CA_CERT,       /* "ca-cert" */
	RP_SIGNER_REVOKE,        /* "revoke" */
	RP_SIGNER_CRL,           /* "crl" */
	RP_SIGNER_IMAGE_KEY,     /* "image-key" */
	RP_SIGNER_SIGN_IMAGE,    /* "sign-image" */
	RP_SIGNER_TARGETS_KEY,   /* "targets-key" */
	RP_SIGNER_SIGN_TARGETS,  /* "sign-targets" */
};

/* The wire name of op, or NULL. */
const char *rp_signer_op_name(enum rp_signer_op op);

struct rp_signer_req {
	enum rp_signer_op op;
	char tenant[RP_TENANT_MAX + 1];
	char csr[RP_CSR_PEM_MAX + 1]; /* issue: the PEM text, NUL-terminated */
	size_t csr_len;
	int64_t not_before;           /* issue */
	int64_t not_after;            /* issue */
	uint8_t serial[RP_SERIAL_LEN]; /* revoke */
	uint8_t header[RP_SIGNER_HEADER_LEN]; /* sign-image */
	uint8_t region[RP_SIGNER_REGION_MAX]; /* sign-targets */
	size_t region_len;                    /* 1..RP_SIGNER_REGION_MAX */
};

/* 0 if s[0..len) is a tenant id: 1..RP_TENANT_MAX of [a-z0-9-], not
 * starting with '-' (safe as a directory name). */
int rp_tenant_check(const char *s, size_t len, struct rp_err *e) RP_WUR;

/* Encode a request; out is initialised here (rp_buf_free). Refuses a
 * request that would not decode (RP_EUSAGE). */
int rp_signer_req_encode(const struct rp_signer_req *r, struct rp_buf *out,
			 struct rp_err *e) RP_WUR;
/* Decode len bytes of untrusted input into *r (shape only: the CSR is
 * parsed and the window checked when the request is handled). */
int rp_signer_req_decode(const uint8_t *buf, size_t len,
			 struct rp_signer_req *r, struct rp_err *e) RP_WUR;

/* Decode a response. On {"ok":true} *result is the result object (owned
 * by the caller, json_decref) and 0 is returned; on {"ok":false} the
 * signer's code and message are put in e and that code is returned. A
 * malformed response is RP_EFORMAT. */
int rp_signer_resp_decode(const uint8_t *buf, size_t len, json_t **result,
			  struct rp_err *e) RP_WUR;

struct rp_signer_cfg {
	const char *keydir;
	int64_t max_validity;  /* 0: RP_SIGNER_MAX_VALIDITY */
	int64_t ca_lifetime;   /* 0: RP_SIGNER_CA_LIFETIME */
	int64_t rollover;      /* 0: RP_SIGNER_ROLLOVER; < ca_lifetime / 2 */
	int64_t crl_lifetime;  /* 0: RP_SIGNER_CRL_LIFETIME */
	int64_t fixed_now;     /* nonzero: the clock is pinned here (tests) */
};

/* The tenants' Ed25519 keys (image.key, targets.key) once loaded, so a
 * sign-targets per device check-in does not decode a PEM file each time
 * (OpenSSL 3's decoder costs about half a millisecond). An entry is used
 * only while the file's device, inode, size and mtime are unchanged. */
#define RP_SIGNER_KEYCACHE 64

struct rp_signer_cached_key {
	char tenant[RP_TENANT_MAX + 1];   /* "" when free */
	char file[16];                    /* "image.key" | "targets.key" */
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	struct rp_key *key;               /* owned */
};

struct rp_signer {
	struct rp_signer_cfg cfg; /* with defaults filled in */
	char keydir[4096];
	size_t next_evict;
	struct rp_signer_cached_key keys[RP_SIGNER_KEYCACHE];
};

/* Check cfg and the key directory (creating it 0700 if missing). */
int rp_signer_open(struct rp_signer *s, const struct rp_signer_cfg *cfg,
		   struct rp_err *e) RP_WUR;
/* Free the cached keys; s may be opened again. */
void rp_signer_release(struct rp_signer *s);

/* Handle one request of len untrusted bytes. *resp is initialised here
 * (rp_buf_free) and always holds a response, success or error, of at most
 * RP_SIGNER_RESP_MAX bytes; a negative return means not even an error
 * response could be built (out of memory), and the caller sends nothing. */
int rp_signer_handle(struct rp_signer *s, const uint8_t *req, size_t len,
		     struct rp_buf *resp) RP_WUR;

/* Serve requests on fd (SOCK_SEQPACKET) until the peer closes it:
 * returns 0 then, or a negative code if the socket fails. A bad request
 * is answered and never ends the loop. */
int rp_signer_serve(struct rp_signer *s, int fd, struct rp_err *e) RP_WUR;

#endif
