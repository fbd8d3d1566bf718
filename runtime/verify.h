/* rampart-verify: the short-lived helper that does, for rampartd, every
 * step that needs cryptography or reads package bytes (docs/runtime.md,
 * "The verification helper"). rampartd itself links neither libcrypto nor
 * the package, image and archive readers.
 *
 * Protocol (one command a run, arguments only, stdin is /dev/null):
 *   rampart-verify image [TRUST]... PKG       -> one JSON object (below)
 *   rampart-verify extract [TRUST]... PKG DEST -> nothing
 *   rampart-verify device-key STATEDIR        -> {"device_id", "generated"}
 *   rampart-verify key-id PEMFILE             -> {"key_id", "pem"}
 * TRUST is --production DIR or --development DIR (each repeatable): every
 * *.pub file of those directories is a trusted key of that class.
 * `image` prints {"v":1, "type", "component_id", "image_id", "version",
 * "security_version", "build_time", "payload_len", "signatures":
 * [{"key_id", "alg", "status", "trust"}], "manifest"} where manifest is the
 * verified manifest text (null for a non-application image), status is
 * "valid" or "unchecked", and trust is "production", "development" or null.
 * On success the exit status is 0 and stdout holds exactly one line. On
 * failure stdout is empty, stderr holds one line (the error, meant for the
 * operator) and the exit status encodes the rp_code (rpv_exit_status). */
#ifndef RPV_VERIFY_H
#define RPV_VERIFY_H

#include <jansson.h>

#include "base/err.h"

#define RPV_OUT_MAX (512 * 1024)  /* bytes of stdout rampartd accepts */
#define RPV_ERR_MAX 1024          /* bytes of stderr rampartd keeps */
#define RPV_TRUST_DIRS_MAX 4      /* --production / --development dirs */
#define RPV_KEYS_PER_DIR_MAX 32
#define RPV_PEM_MAX (64 * 1024)

enum rpv_trust { RPV_PRODUCTION = 1, RPV_DEVELOPMENT = 2 };

struct rpv_trust_dir {
	const char *dir;
	enum rpv_trust trust;
};

/* Each command fills *out (owned by the caller, json_decref) on success;
 * extract sets it to NULL. */
int rpv_image(const struct rpv_trust_dir *dirs, size_t ndirs, const char *pkg,
	      json_t **out, struct rp_err *e) RP_WUR;
int rpv_extract(const struct rpv_trust_dir *dirs, size_t ndirs,
		const char *pkg, const char *dest, struct rp_err *e) RP_WUR;
int rpv_device_key(const char *state_dir, json_t **out,
		   struct rp_err *e) RP_WUR;
int rpv_key_id(const char *pem_path, json_t **out, struct rp_err *e) RP_WUR;

/* Confine the calling process for good: no_new_privs and a seccomp
 * allow-list of file I/O, memory (never executable), randomness and time
 * (verify_confine.c; the list is in docs/DESIGN.md). Called by
 * rampart-verify's main before any command reads its input. */
int rpv_confine(struct rp_err *e) RP_WUR;

/* rp_code <-> exit status (shared by both ends, hence inline): -errno below 125 is itself, RP_EFORMAT..
 * RP_EUSAGE are 201..206, anything else 125 (RP_EIO on the way back). */
static inline int rpv_exit_status(int code)
{
	if (code == 0)
		return 0;
	if (code < 0 && code > -125)
		return -code;
	if (code <= RP_EFORMAT && code >= RP_EUSAGE)
		return 201 + (RP_EFORMAT - code);
	return 125;
}

static inline int rpv_code_from_status(int status)
{
	if (status > 0 && status < 125)
		return -status;
	if (status >= 201 && status <= 206)
		return RP_EFORMAT - (status - 201);
	return status == 0 ? 0 : RP_EIO;
}

#endif
