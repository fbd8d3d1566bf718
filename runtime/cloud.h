/* rampart-cloud: the device's cloud client, a short-lived helper that
 * rampartd execs for every step that needs TLS or cryptography
 * (docs/runtime.md, "Cloud"). rampartd itself links neither libcurl nor
 * libcrypto; it schedules the steps, builds the check-in data from its app
 * table and report ring, and keeps the status.
 *
 * Protocol (one command a run; STATEDIR is rampartd's state directory;
 * the request, when there is one, is one JSON object on stdin, at most
 * RPC_IN_MAX bytes):
 *   rampart-cloud setup STATEDIR
 *       stdin {"url", "tenant", "server_ca" (PEM), "enroll_token"?}
 *       -> {"url", "tenant", "device_id"}
 *   rampart-cloud step STATEDIR
 *       stdin {"runtime_version", "installed": [...], "error_reports": [...]}
 *       (as in POST /v1/device/checkin; the helper adds "time" and
 *       "targets_version") -> the step's result (below)
 *   rampart-cloud verify-targets STATEDIR FILE
 *       -> the targets summary, after FILE was verified with the pinned
 *          targets key, checked against the persisted state and accepted
 * On success the exit status is 0 and stdout holds one JSON line. On
 * failure stdout is empty, stderr holds one line and the exit status
 * encodes the rp_code (rpv_exit_status, runtime/verify.h). A step whose
 * network part fails still succeeds as a run: its result says what went
 * wrong ("state": "error" or "unclaimed", "error": "...").
 *
 * Step result: {"state": "ok" | "unclaimed" | "error", "error": text|null,
 *   "device_id", "enrolled": bool, "renewed": bool,
 *   "certificate": {"serial", "not_before", "not_after", "renew_after"}|null,
 *   "checkin": {"time", "reports_sent", "reports_accepted",
 *               "reports_acked_seq", "next_checkin_s"}|null,
 *   "targets": SUMMARY|null, "targets_error": text|null}
 * SUMMARY: {"accepted": bool (false: the same document again), "version",
 *   "issued_at", "expires", "tenant", "product", "device_group",
 *   "images": [{"component_id", "image_id", "version", "security_version",
 *               "type", "size", "sha256"}]}
 *
 * Files (under STATEDIR/cloud/): config.json, server-ca.pem, enroll-token
 * (until used), cert.pem, tenant-ca.pem, targets-key.pem (pinned with the
 * first certificate), targets.rpt (the last accepted document) and
 * targets.state (rp_targets_state: anti-rollback and anti-freeze). */
#ifndef RPC_CLOUD_H
#define RPC_CLOUD_H

#include <jansson.h>

#include "base/err.h"

#define RPC_IN_MAX (512 * 1024)    /* stdin request */
#define RPC_OUT_MAX (256 * 1024)   /* stdout result rampartd accepts */
#define RPC_ERR_MAX 1024           /* stderr bytes rampartd keeps */
#define RPC_URL_MAX 256
#define RPC_TENANT_MAX 36          /* a GUID */
#define RPC_TOKEN_MAX 256
#define RPC_CA_PEM_MAX (12 * 1024) /* the server's CA bundle */
#define RPC_RESP_MAX (1024 * 1024) /* one HTTP response body */
#define RPC_HTTP_TIMEOUT_S 60L

int rpc_setup(const char *state_dir, json_t *in, json_t **out,
	      struct rp_err *e) RP_WUR;
int rpc_step(const char *state_dir, json_t *in, json_t **out,
	     struct rp_err *e) RP_WUR;
int rpc_verify_targets(const char *state_dir, const char *file, json_t **out,
		       struct rp_err *e) RP_WUR;

/* Confine the helper for good (cloud_confine.c): no_new_privs and a
 * seccomp allow-list of file I/O, memory (never executable), time,
 * randomness and stream sockets (no exec, no process creation, no
 * mounts, no ptrace). Name resolution happens before (it may load NSS
 * modules), and libcurl gets the address with CURLOPT_RESOLVE. */
int rpc_confine(struct rp_err *e) RP_WUR;

#endif
