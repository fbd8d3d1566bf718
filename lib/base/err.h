/* Error context that travels up the stack without allocating.
 *
 * A failing function fills a caller-owned struct rp_err with a negative code
 * and a message; each layer above may prefix its own context, so the final
 * text reads outside-in: "package: manifest: Capabilities.Gpio[0]: ...".
 * The struct is fixed size: messages are truncated, never allocated. */
#ifndef RP_BASE_ERR_H
#define RP_BASE_ERR_H

#include <stddef.h>

#define RP_ERR_MSG_MAX 512

#define RP_WUR __attribute__((warn_unused_result))
#define RP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Error codes beyond -errno. All are negative; 0 means success. */
enum rp_code {
	RP_EINVAL = -22,     /* malformed input (same value as -EINVAL) */
	RP_ENOMEM = -12,     /* allocation failed (same value as -ENOMEM) */
	RP_EIO = -5,         /* I/O failed */
	RP_ERANGE = -34,     /* a number or size is out of its allowed range */
	RP_EFORMAT = -1001,  /* bytes do not follow the format */
	RP_EVERIFY = -1002,  /* a signature or digest does not verify */
	RP_EUNTRUSTED = -1003, /* signed only by keys we do not trust */
	RP_ECRYPTO = -1004,  /* the crypto library failed */
	RP_EPOLICY = -1005,  /* well-formed but not allowed */
	RP_EUSAGE = -1006,   /* the caller used an API or command wrongly */
};

struct rp_err {
	int code;
	char msg[RP_ERR_MSG_MAX];
};

/* Reset to "no error". */
void rp_err_clear(struct rp_err *e);

/* Set code and message (printf-style); returns code so callers can write
 * `return rp_err_set(e, RP_EFORMAT, "...")`. e may be NULL. */
int rp_err_set(struct rp_err *e, int code, const char *fmt, ...) RP_PRINTF(3, 4);

/* Like rp_err_set, with ": strerror(errnum)" appended; code is -errnum. */
int rp_err_errno(struct rp_err *e, int errnum, const char *fmt, ...) RP_PRINTF(3, 4);

/* Prefix the message with "<prefix>: ". Keeps the code; returns it. */
int rp_err_prefix(struct rp_err *e, const char *fmt, ...) RP_PRINTF(2, 3);

/* A bounded, printable rendering of untrusted text for messages: at most
 * RP_SHOW_MAX characters, with control characters, quotes and backslashes
 * shown as '?', and "..." when cut. Returns out. */
#define RP_SHOW_MAX 48
#define RP_SHOW_BUF (RP_SHOW_MAX + 4)
const char *rp_show(const char *s, char out[RP_SHOW_BUF]);

/* A short name for a code ("format error", "verification failed", ...). */
const char *rp_code_name(int code);

#endif
