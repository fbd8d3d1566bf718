/* The CLI's HTTPS client for the security service (libcurl).
 *
 * HTTPS only, TLS 1.3 minimum, peer and host name always verified (against
 * ca_cert when given, else the system CAs), no redirects, bounded
 * connect and total times, and a hard cap on the response size. */
#ifndef RP_CLI_HTTP_H
#define RP_CLI_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CLI_HTTP_URL_MAX 256
#define CLI_HTTP_TOKEN_MAX 256
#define CLI_HTTP_RESP_MAX (8u * 1024 * 1024) /* bytes of response body */
#define CLI_HTTP_CONNECT_TIMEOUT 10L         /* seconds */
#define CLI_HTTP_TIMEOUT 60L                 /* seconds, whole request */
#define CLI_HTTP_LOW_SPEED 1024L             /* bytes/s, file transfers */
#define CLI_HTTP_LOW_SPEED_TIME 60L          /* seconds below it: abort */

struct cli_http {
	void *curl;                         /* CURL *, owned */
	char server[CLI_HTTP_URL_MAX];      /* "https://host:port", no slash */
	char ca_cert[4096];                 /* "" for the system CAs */
	char auth[CLI_HTTP_TOKEN_MAX + 32]; /* "Authorization: Bearer ..." or "" */
};

/* Check that url is "https://HOST[:PORT]" (optionally with one trailing
 * slash, removed) and copy it to out. Plain http://, user info, paths,
 * queries and fragments are refused with RP_EUSAGE. */
int cli_http_check_server(const char *url, char *out, size_t outsz,
			  struct rp_err *e) RP_WUR;

/* Set up h for server (already checked). ca_cert may be NULL; token may be
 * NULL for unauthenticated calls and must be printable ASCII without
 * spaces. Release with cli_http_close, also after a failure. */
int cli_http_open(struct cli_http *h, const char *server, const char *ca_cert,
		  const char *token, struct rp_err *e) RP_WUR;

/* One request. path starts with "/" and is already escaped; body may be
 * NULL (sent as JSON otherwise). On 0, *status is the HTTP status and
 * *out the parsed JSON body (NULL when empty; caller json_decref), for
 * any status. Errors: RP_EUNTRUSTED (TLS verification), RP_ERANGE (the
 * response is over CLI_HTTP_RESP_MAX), RP_EFORMAT (not JSON), RP_EIO
 * (connection, timeout, TLS handshake). */
int cli_http_call(struct cli_http *h, const char *method, const char *path,
		  json_t *body, long *status, json_t **out, struct rp_err *e) RP_WUR;

/* Progress display for long transfers (cli_http_xfer). */
enum cli_progress {
	CLI_PROGRESS_NONE = 0,
	CLI_PROGRESS_BAR,   /* one redrawn line on stderr (a terminal) */
	CLI_PROGRESS_LINES, /* "label: 40%" lines on stderr, every 10% */
};

/* A transfer with a streamed body in either direction. Set the request
 * fields; the result fields are written by cli_http_xfer. */
struct cli_http_xfer {
	const char *accept;   /* NULL: application/json */
	int upload_fd;        /* >= 0: POST this file's next upload_size bytes */
	uint64_t upload_size; /* as application/octet-stream (no JSON body) */
	int download_fd;      /* >= 0: a 2xx body is written here, at offset */
	uint64_t offset;      /* > 0: ask for "Range: bytes=offset-"; a 206
			       * must start there; a 200 rewrites from 0 */
	uint64_t max;         /* total bytes download_fd may reach (a cap) */
	enum cli_progress progress;
	const char *label;    /* shown before the progress */
	/* results */
	long status;
	json_t *json;         /* the body when not downloaded: JSON, or NULL
			       * when empty (caller json_decref) */
	uint64_t end;         /* download_fd's length after a 2xx */
};

/* Zero x and set its fds to -1. */
void cli_http_xfer_init(struct cli_http_xfer *x);

/* One request with the settings of cli_http_call; body (JSON) is used only
 * without upload_fd. Without download_fd, or for a non-2xx answer, the
 * body is read into memory (at most CLI_HTTP_RESP_MAX) and parsed as JSON
 * into x->json (NULL for a non-2xx body that is not JSON). Transfers with a file have no total time limit; they
 * fail when slower than CLI_HTTP_LOW_SPEED bytes/s for
 * CLI_HTTP_LOW_SPEED_TIME seconds. Errors as cli_http_call, plus RP_ERANGE
 * when the download would pass x->max and RP_EFORMAT when a 206 answer
 * does not start at x->offset. */
int cli_http_xfer(struct cli_http *h, const char *method, const char *path,
		  json_t *body, struct cli_http_xfer *x, struct rp_err *e) RP_WUR;

/* Escape one path segment (every byte but [A-Za-z0-9._~-]) into out. */
int cli_http_escape(const char *seg, char *out, size_t outsz,
		    struct rp_err *e) RP_WUR;

/* Release h's handle and wipe the token; accepts a zeroed h. */
void cli_http_close(struct cli_http *h);

#endif
