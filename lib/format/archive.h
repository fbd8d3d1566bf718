/* Rampart's payload archive: an app's file tree as a flat, sorted list of
 * directories, regular files and symlinks. See docs/formats/image-package.md.
 *
 * The format has no way to express a device node, fifo, socket, hard link,
 * owner, or setuid/setgid/sticky bit; a symlink must be relative and stay
 * inside the tree. The reader refuses anything else, so none of those can
 * take effect on a device, whoever signed the package. */
#ifndef RP_FORMAT_ARCHIVE_H
#define RP_FORMAT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define RP_ARCHIVE_PATH_MAX 1024
#define RP_ARCHIVE_ENTRIES_MAX 65536
#define RP_ARCHIVE_HEADER_LEN 16   /* magic, version, reserved, count */
#define RP_ARCHIVE_MAGIC "RAMPARC\0" /* 8 bytes */
#define RP_ARCHIVE_VERSION 1

struct rp_sha256;

enum rp_archive_type {
	RP_AR_DIR = 1,
	RP_AR_FILE = 2,
	RP_AR_SYMLINK = 3,
};

struct rp_archive_entry {
	enum rp_archive_type type;
	uint16_t mode;        /* permission bits only, within 0777 */
	char path[RP_ARCHIVE_PATH_MAX + 1];   /* relative, normalised */
	char target[RP_ARCHIVE_PATH_MAX + 1]; /* symlinks only */
	uint64_t size;        /* files: data bytes */
	uint64_t data_off;    /* files: offset of data within the archive */
};

/* Random access to archive bytes: fill buf with n bytes at off. */
typedef int (*rp_read_at_fn)(void *ctx, uint8_t *buf, size_t n, uint64_t off,
			     struct rp_err *e);

struct rp_archive_iter {
	rp_read_at_fn read_at;
	void *ctx;
	uint64_t len;      /* archive length */
	uint64_t off;      /* next entry */
	uint32_t count;    /* entries so far */
	char prev[RP_ARCHIVE_PATH_MAX + 1]; /* for strict ordering */
	int started;
	/* Added with the v1 reader; callers only read these. */
	uint32_t total;    /* entry count from the archive header */
	size_t prev_len;   /* strlen(prev) */
	int prev_dir;      /* prev is a directory entry */
	uint64_t nbytes;   /* file data bytes so far */
};

void rp_archive_iter_init(struct rp_archive_iter *it, rp_read_at_fn read_at,
			  void *ctx, uint64_t len);
/* 0: *out holds the next entry; 1: end of archive; negative: error (the
 * message names the entry). Every entry returned has been checked against
 * everything before it (order, parent directory, caps), and end of archive
 * is only reported when the bytes end exactly after the last entry, so an
 * iteration that reaches 1 has validated the whole archive. */
int rp_archive_next(struct rp_archive_iter *it, struct rp_archive_entry *out,
		    struct rp_err *e) RP_WUR;

/* Convenience readers: bytes in memory, or a file descriptor region. */
struct rp_mem_src { const uint8_t *buf; size_t len; };
int rp_mem_read_at(void *ctx, uint8_t *buf, size_t n, uint64_t off,
		   struct rp_err *e) RP_WUR;
struct rp_fd_src { int fd; uint64_t base; };
int rp_fd_read_at(void *ctx, uint8_t *buf, size_t n, uint64_t off,
		  struct rp_err *e) RP_WUR;

/* Walk every entry; 0 if the whole archive is valid. Counts are optional. */
int rp_archive_check(rp_read_at_fn read_at, void *ctx, uint64_t len,
		     uint64_t *nentries, uint64_t *nbytes, struct rp_err *e) RP_WUR;

/* Write the tree under dir to fd (at its current position) in archive
 * form, hashing every byte written into h when h is not NULL; *len gets
 * the archive's length. Refuses, naming the path, anything the format
 * cannot carry: device nodes, fifos, sockets, setuid/setgid/sticky files,
 * absolute or escaping symlinks. Output is reproducible: sorted, no
 * owners, no times. */
int rp_archive_write_dir(const char *dir, int fd, struct rp_sha256 *h,
			 uint64_t *len, struct rp_err *e) RP_WUR;

/* Extract into the empty directory dest (for the device's store): never
 * follows a symlink while creating, creates no device nodes, and applies
 * only permission bits. */
int rp_archive_extract(rp_read_at_fn read_at, void *ctx, uint64_t len,
		       const char *dest, struct rp_err *e) RP_WUR;

#endif
