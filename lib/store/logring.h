/* A bounded, persisted log per app: the last `cap` bytes of its stdout
 * and stderr. Byte layout: docs/formats/error-reports.md ("App logs").
 *
 * The file is a 32-byte header and a data area of exactly cap bytes; byte
 * i of the app's output stream lives at 32 + (i % cap). The header holds
 * the stream length so far and a CRC; it is rewritten after each append.
 * Logs are best effort: there is no fsync per write (an app could make
 * the device fsync in a loop), only at close; a header that fails its CRC
 * after a crash resets the log rather than refusing it. */
#ifndef RP_STORE_LOGRING_H
#define RP_STORE_LOGRING_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define RP_LOGRING_HEADER_LEN 32
#define RP_LOGRING_CAP_DEFAULT (64 * 1024)
#define RP_LOGRING_CAP_MIN 256
#define RP_LOGRING_CAP_MAX (16 * 1024 * 1024)

struct rp_logring {
	int fd;         /* -1 when closed */
	uint64_t cap;   /* data area size */
	uint64_t head;  /* bytes ever written */
};

/* Open or create. A file with a valid header of another capacity is
 * reset to cap. Close with rp_logring_close (accepts a closed ring). */
int rp_logring_open(const char *path, uint64_t cap, struct rp_logring *out,
		    struct rp_err *e) RP_WUR;
int rp_logring_append(struct rp_logring *r, const void *p, size_t n,
		      struct rp_err *e) RP_WUR;
/* The retained bytes, oldest first, into out (initialised here; free
 * with rp_buf_free). */
int rp_logring_read(struct rp_logring *r, struct rp_buf *out,
		    struct rp_err *e) RP_WUR;
void rp_logring_close(struct rp_logring *r);

/* Pure: the offset in buf[0..len) where its last `lines` lines start (a
 * final line without a newline counts as a line). */
size_t rp_log_tail(const uint8_t *buf, size_t len, uint32_t lines);

#endif
