/* Small file helpers with explicit caps. */
#ifndef RP_BASE_FILE_H
#define RP_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"

/* Read all of `path` into *out (initialised here, owned by the caller, free
 * with rp_buf_free) if it holds at most cap bytes; larger files fail with
 * RP_ERANGE before anything is allocated. */
int rp_file_read(const char *path, size_t cap, struct rp_buf *out,
		 struct rp_err *e) RP_WUR;

/* Write len bytes to path atomically: a temporary file in the same
 * directory, fsync, rename. mode is used for the new file (e.g. 0600 for
 * secrets). With excl, an existing path is refused (EEXIST). */
int rp_file_write(const char *path, const void *buf, size_t len, mode_t mode,
		  int excl, struct rp_err *e) RP_WUR;

/* pread exactly n bytes at off, retrying short reads; a short file is
 * RP_EFORMAT ("truncated"). */
int rp_pread_full(int fd, void *buf, size_t n, uint64_t off,
		  struct rp_err *e) RP_WUR;
/* pwrite exactly n bytes at off, retrying short writes and EINTR. */
int rp_pwrite_full(int fd, const void *buf, size_t n, uint64_t off,
		   struct rp_err *e) RP_WUR;
/* write all n bytes, retrying short writes and EINTR. */
int rp_write_full(int fd, const void *buf, size_t n, struct rp_err *e) RP_WUR;

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void rp_hex(const uint8_t *p, size_t n, char *out);
/* Parse exactly 2n hex digits into n bytes; RP_EINVAL otherwise. */
int rp_unhex(const char *s, size_t slen, uint8_t *out, size_t n) RP_WUR;

#endif
