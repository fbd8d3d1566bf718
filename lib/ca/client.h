/* The server's side of the signing process: spawn rampart-signer on a
 * socketpair and call it. The signer alone reads the CA private keys;
 * nothing these calls return can contain key material (the signer never
 * sends it, and the client refuses a response that looks like a key).
 *
 * One request at a time per client: calls block (at most
 * RP_SIGNER_TIMEOUT_MS for the reply) and are not thread-safe; a server
 * with several threads uses one client per thread or a lock. Every
 * failure leaves a message in e, prefixed "signer: " when the signer
 * refused the request (its code is returned: RP_EPOLICY, RP_ERANGE,
 * RP_EVERIFY, ...). */
#ifndef RP_CA_CLIENT_H
#define RP_CA_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"
#include "ca/signer.h"

#define RP_SIGNER_TIMEOUT_MS 30000

struct rp_signer_client {
	int fd;      /* our end of the SOCK_SEQPACKET pair */
	pid_t pid;   /* the signer */
	/* One request in flight: the server's event-loop threads share one
	 * signer (rampart-server serve --workers), and a reply must go to
	 * the thread that asked. */
	pthread_mutex_t lock;
};

/* Start `binary --keydir keydir --fd 3` with its end of a new socketpair
 * as fd 3 and nothing else but stdin/stdout/stderr. The child dies with
 * the parent (PR_SET_PDEATHSIG). *out is owned by the caller:
 * rp_signer_close. */
int rp_signer_spawn(const char *binary, const char *keydir,
		    struct rp_signer_client **out, struct rp_err *e) RP_WUR;

/* Wrap an already-connected socket (tests, or a signer started some other
 * way); fd is owned by the client from here, pid may be -1. */
int rp_signer_client_fd(int fd, pid_t pid, struct rp_signer_client **out,
			struct rp_err *e) RP_WUR;

/* Close the socket (the signer exits on EOF), reap the child and free c.
 * Accepts NULL. */
void rp_signer_close(struct rp_signer_client *c);

/* One CA certificate as the signer reports it. */
struct rp_signer_ca {
	unsigned generation;
	int64_t not_before, not_after;
	struct rp_buf pem;  /* owned: rp_signer_ca_free */
};

/* Make the tenant's first CA, or its next generation when the newest is
 * within the rollover window (90 days before its end by default). */
int rp_signer_create_ca(struct rp_signer_client *c, const char *tenant,
			struct rp_signer_ca *out, struct rp_err *e) RP_WUR;
void rp_signer_ca_free(struct rp_signer_ca *ca);

/* Every valid CA certificate of the tenant, newest first (two during a
 * rollover). out[0..*n) are filled (n <= RP_CHAIN_CAS_MAX); free each
 * with rp_signer_ca_free. */
int rp_signer_ca_cert(struct rp_signer_client *c, const char *tenant,
		      struct rp_signer_ca out[RP_CHAIN_CAS_MAX], size_t *n,
		      struct rp_err *e) RP_WUR;

struct rp_signer_cert {
	struct rp_buf pem;                  /* owned: rp_signer_cert_free */
	char serial[RP_SERIAL_HEX];         /* lower-case hex */
	char device_id[RP_DEVICE_ID_HEX];   /* hex SHA-256 of the SPKI */
	unsigned generation;                /* the issuing CA */
	int64_t not_before, not_after;
};

/* Issue a device certificate for the PEM CSR csr[0..len) valid over
 * [not_before, not_after] (signer's limits: not_before within an hour of
 * its clock, at most its max validity, 7 days by default). */
int rp_signer_issue(struct rp_signer_client *c, const char *tenant,
		    const char *csr, size_t len, int64_t not_before,
		    int64_t not_after, struct rp_signer_cert *out,
		    struct rp_err *e) RP_WUR;
void rp_signer_cert_free(struct rp_signer_cert *cert);

/* Revoke by serial (32 lower-case hex digits); revoking twice is fine.
 * *revoked_at (if not NULL) gets the time it was first revoked. */
int rp_signer_revoke(struct rp_signer_client *c, const char *tenant,
		     const char *serial_hex, int64_t *revoked_at,
		     struct rp_err *e) RP_WUR;

/* The tenant's CRLs, one per valid CA generation, as concatenated PEM in
 * out (initialised here, rp_buf_free). */
int rp_signer_crl(struct rp_signer_client *c, const char *tenant,
		  struct rp_buf *out, struct rp_err *e) RP_WUR;

/* The tenant's production image key (Ed25519; made on first use). */
struct rp_signer_image_key {
	char key_id[RP_KEYID_LEN * 2 + 1]; /* lower-case hex */
	struct rp_buf pem;                 /* public key; rp_signer_image_key_free */
};
int rp_signer_image_key(struct rp_signer_client *c, const char *tenant,
			struct rp_signer_image_key *out, struct rp_err *e) RP_WUR;
void rp_signer_image_key_free(struct rp_signer_image_key *k);

/* Sign a package's 256-byte header with the tenant's production image
 * key: sig (RP_SIG_MAX bytes) gets the 64-byte Ed25519 signature, *len its
 * length, key_id the key's id (raw bytes). */
int rp_signer_sign_image(struct rp_signer_client *c, const char *tenant,
			 const uint8_t header[RP_SIGNER_HEADER_LEN],
			 uint8_t *sig, size_t *len,
			 uint8_t key_id[RP_KEYID_LEN], struct rp_err *e) RP_WUR;

/* The tenant's targets key (Ed25519, made on first use), which signs the
 * targets documents devices get at check-in; same shape as the image
 * key. */
int rp_signer_targets_key(struct rp_signer_client *c, const char *tenant,
			  struct rp_signer_image_key *out, struct rp_err *e) RP_WUR;

/* Sign a targets document's signed region region[0..region_len) (at
 * most RP_SIGNER_REGION_MAX bytes; from rp_targets_encode_region) with
 * the tenant's targets key: the signer refuses anything that is not a
 * well-formed region naming this tenant. Results as rp_signer_sign_image. */
int rp_signer_sign_targets(struct rp_signer_client *c, const char *tenant,
			   const uint8_t *region, size_t region_len,
			   uint8_t *sig, size_t *len,
			   uint8_t key_id[RP_KEYID_LEN], struct rp_err *e) RP_WUR;

/* Send a raw request and receive the raw response (tests and tools);
 * resp is initialised here (rp_buf_free). */
int rp_signer_raw(struct rp_signer_client *c, const void *req, size_t len,
		  struct rp_buf *resp, struct rp_err *e) RP_WUR;

#endif
