/* The control protocol between `rampart device ...` and rampartd, and the
 * channel protocol between an app and rampartd. Byte layout and semantics:
 * docs/formats/control-protocol.md.
 *
 * Transport: a unix SOCK_SEQPACKET socket; one message is one JSON object
 * of at most RP_CTL_MSG_MAX bytes (RP_CTL_CHAN_MAX for app messages). A
 * request may carry one file descriptor (SCM_RIGHTS): the package of a
 * sideload. The encoders and decoders here are pure and fuzzed
 * (fuzz/fuzz_control.c); rp_ctl_send/rp_ctl_recv are the only I/O.
 *
 * Requests are decoded strictly: unknown keys, keys that do not belong to
 * the operation, wrong types, out-of-range numbers and a wrong protocol
 * version are refused with the key named. */
#ifndef RP_CTL_H
#define RP_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define RP_CTL_VERSION 1
#define RP_CTL_REQ_MAX (16 * 1024)    /* a request (the largest: a PEM key) */
#define RP_CTL_MSG_MAX (512 * 1024)   /* a response */
#define RP_CTL_PEM_MAX 4096           /* trust_key text */
#define RP_CTL_LINES_MAX 10000        /* app logs -n */
#define RP_CTL_LINES_DEFAULT 100
#define RP_CTL_CHAN_MAX 1024          /* an app <-> rampartd channel message */
#define RP_CTL_DEFAULT_SOCKET "/run/rampart/rampartd.sock"
#define RP_CTL_URL_MAX 256            /* cloud-setup url */
#define RP_CTL_TENANT_MAX 36          /* cloud-setup tenant (a GUID) */
#define RP_CTL_CA_MAX (12 * 1024)     /* cloud-setup server_ca (PEM) */
#define RP_CTL_TOKEN_MAX 256          /* cloud-setup enroll_token */

enum rp_ctl_op {
	RP_CTL_SHOW = 1,          /* "show" */
	RP_CTL_ENABLE_DEV,        /* "enable-development" [trust_key] */
	RP_CTL_ENABLE_CLOUD_TEST, /* "enable-cloud-test" */
	RP_CTL_DEPLOY,            /* "sideload-deploy" + fd */
	RP_CTL_DELETE,            /* "sideload-delete" component_id | all */
	RP_CTL_APP_LIST,          /* "app-list" */
	RP_CTL_APP_STATUS,        /* "app-status" [component_id] */
	RP_CTL_APP_START,         /* "app-start" [component_id] */
	RP_CTL_APP_STOP,          /* "app-stop" [component_id] */
	RP_CTL_APP_LOGS,          /* "app-logs" [component_id] [lines] */
	RP_CTL_ERROR_REPORT,      /* "error-report" */
	RP_CTL_CLOUD_SETUP,       /* "cloud-setup" url tenant server_ca [enroll_token] */
	RP_CTL_CLOUD_STATUS,      /* "cloud-status" */
	RP_CTL_CHECK_UPDATES,     /* "check-for-updates": replies after the check-in */
};

/* The wire name of op ("app-list"), or NULL. */
const char *rp_ctl_op_name(enum rp_ctl_op op);

struct rp_ctl_req {
	enum rp_ctl_op op;
	int has_component;          /* component_id was given */
	uint8_t component_id[16];
	char component_text[37];    /* lower-case GUID text */
	int all;                    /* sideload-delete: every app */
	uint32_t lines;             /* app-logs: 1..RP_CTL_LINES_MAX */
	char trust_key[RP_CTL_PEM_MAX + 1]; /* enable-development, or "" */
	/* cloud-setup: text as given (rampart-cloud checks it in depth) */
	char url[RP_CTL_URL_MAX + 1];
	char tenant[RP_CTL_TENANT_MAX + 1];
	char server_ca[RP_CTL_CA_MAX + 1];
	char enroll_token[RP_CTL_TOKEN_MAX + 1]; /* or "" */
};

/* Zero *r and set op and the defaults (lines). */
void rp_ctl_req_init(struct rp_ctl_req *r, enum rp_ctl_op op);

/* Encode a request; out is initialised here (free with rp_buf_free).
 * Refuses a request that would not decode (RP_EUSAGE). */
int rp_ctl_req_encode(const struct rp_ctl_req *r, struct rp_buf *out,
		      struct rp_err *e) RP_WUR;
/* Decode len bytes of untrusted input into *r. */
int rp_ctl_req_decode(const uint8_t *buf, size_t len, struct rp_ctl_req *r,
		      struct rp_err *e) RP_WUR;

/* Responses: {"v":1,"ok":true,"result":{...}} or
 * {"v":1,"ok":false,"code":N,"error":"..."}.
 * rp_ctl_resp_ok takes ownership of result (an object; NULL means {}). */
int rp_ctl_resp_ok(json_t *result, struct rp_buf *out, struct rp_err *e) RP_WUR;
/* Encode the error in err (its code and message). Never fails for lack of
 * memory: out is a caller-owned fixed buffer of at least RP_ERR_MSG_MAX*2
 * bytes; *len gets the length. */
void rp_ctl_resp_err(const struct rp_err *err, char *out, size_t cap,
		     size_t *len);
#define RP_CTL_ERR_RESP_MAX (RP_ERR_MSG_MAX * 7 + 64) /* \u escapes */

/* Decode a response. On success *result (owned by the caller, json_decref)
 * is the result object and remote is cleared; when the daemon refused,
 * *result is NULL and remote holds its code (clamped to a known range) and
 * message. A malformed response fails with e. */
int rp_ctl_resp_decode(const uint8_t *buf, size_t len, json_t **result,
		       struct rp_err *remote, struct rp_err *e) RP_WUR;

/* App channel (the app side speaks this through /run/rampart/app.sock, a
 * unix SOCK_STREAM socket: the compartment's seccomp filter lets apps
 * create stream and datagram sockets only). Each message is one line: the
 * JSON below, then '\n' (compact JSON never contains a raw newline). A
 * descriptor travels with the message it belongs to (one sendmsg each).
 *   app -> rampartd  {"connect":"<ComponentId>"}
 *   rampartd -> app  {"connected":"<id>"} + fd | {"error":"...","code":N}
 *   rampartd -> partner {"incoming":"<id>"} + fd
 * The fd is one end of a socketpair(AF_UNIX, SOCK_SEQPACKET). */
int rp_ctl_chan_decode(const uint8_t *buf, size_t len, uint8_t id[16],
		       struct rp_err *e) RP_WUR;
/* Encode a channel message into a fixed buffer of RP_CTL_CHAN_MAX bytes,
 * with its final '\n'. kind is "connect", "connected" or "incoming". */
int rp_ctl_chan_encode(const char *kind, const uint8_t id[16], char *out,
		       size_t cap, size_t *len, struct rp_err *e) RP_WUR;
int rp_ctl_chan_encode_err(const struct rp_err *err, char *out, size_t cap,
			   size_t *len, struct rp_err *e) RP_WUR;
/* Decode a rampartd -> app message: *kind_out points to a static name
 * ("connected", "incoming" or "error"); id is set for the first two; for
 * "error", remote gets the code and message. */
int rp_ctl_chan_decode_reply(const uint8_t *buf, size_t len,
			     const char **kind_out, uint8_t id[16],
			     struct rp_err *remote, struct rp_err *e) RP_WUR;

/* Line framing for the app channel's stream socket. A reader keeps the
 * bytes of at most one unfinished line (RP_CTL_CHAN_MAX) and at most one
 * descriptor. The kernel ends a read of a unix stream socket after the
 * data that carried descriptors, so a descriptor belongs to the last line
 * completed by the read that brought it. */
struct rp_ctl_lines {
	uint8_t buf[RP_CTL_CHAN_MAX + 1];
	size_t len;
	int fd;        /* pending descriptor, or -1 */
	size_t fd_end; /* it belongs to the line ending at buf[fd_end - 1] */
};
void rp_ctl_lines_init(struct rp_ctl_lines *l);
/* One recvmsg. 0: bytes (maybe no whole line yet); 1: end of stream;
 * -EAGAIN (nonblock); an error for a line over RP_CTL_CHAN_MAX, a second
 * pending descriptor, or a descriptor when accept_fd is 0 (all received
 * descriptors are closed then). */
int rp_ctl_lines_fill(int sock, struct rp_ctl_lines *l, int accept_fd,
		      int nonblock, struct rp_err *e) RP_WUR;
/* The next complete line (without its '\n') into out (cap bytes):
 * 0 with *len and *fd (its descriptor, owned by the caller, or -1);
 * 1 when no line is complete. */
int rp_ctl_lines_next(struct rp_ctl_lines *l, uint8_t *out, size_t cap,
		      size_t *len, int *fd);
/* Close a pending descriptor. */
void rp_ctl_lines_free(struct rp_ctl_lines *l);

/* Send one message with an optional fd (-1: none). Retries EINTR. */
int rp_ctl_send(int sock, const void *buf, size_t len, int fd,
		struct rp_err *e) RP_WUR;
/* Receive one message of at most cap bytes into out (initialised here;
 * free with rp_buf_free). *fd gets a received descriptor (O_CLOEXEC) or
 * -1; with fd == NULL any received descriptor is closed. A message larger
 * than cap, or carrying more than one descriptor, is refused and every
 * received descriptor closed. Returns 1 at end of stream (peer closed).
 * With nonblock, EAGAIN is returned as -EAGAIN. */
int rp_ctl_recv(int sock, size_t cap, struct rp_buf *out, int *fd,
		int nonblock, struct rp_err *e) RP_WUR;

#endif
