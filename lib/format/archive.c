/* Rampart payload archive v1. Byte layout and rationale:
 * docs/formats/image-package.md ("Payload archive").
 *
 * The reader is a pull iterator over an rp_read_at_fn, so the same code
 * checks bytes in memory (fuzzing, tests) and a region of a package file
 * (the device). It keeps O(1) state: strict tree order plus "the parent of
 * each entry is the previous entry or one of its ancestors" proves every
 * parent directory appeared, without remembering the directories seen. */
#include "format/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/file.h"
#include "crypto/crypto.h"

#define ENTRY_FIXED_LEN 6 /* type, reserved, mode, path length */
#define COPY_BUF (1u << 20)
/* A path of at most RP_ARCHIVE_PATH_MAX bytes has at most this many
 * components, so this bounds directory depth everywhere. */
#define DEPTH_MAX (RP_ARCHIVE_PATH_MAX / 2 + 1)

_Static_assert(sizeof(RP_ARCHIVE_MAGIC) - 1 == 8, "archive magic is 8 bytes");
_Static_assert(RP_ARCHIVE_HEADER_LEN == 8 + 2 + 2 + 4, "archive header");
_Static_assert(RP_ARCHIVE_ENTRIES_MAX <= UINT32_MAX, "entry count is a u32");
_Static_assert(RP_ARCHIVE_PATH_MAX <= UINT16_MAX, "path length is a u16");

int rp_mem_read_at(void *ctx, uint8_t *buf, size_t n, uint64_t off,
		   struct rp_err *e)
{
	const struct rp_mem_src *m = ctx;

	if (off > m->len || n > m->len - off)
		return rp_err_set(e, RP_EFORMAT, "truncated");
	if (n)
		memcpy(buf, m->buf + off, n);
	return 0;
}

int rp_fd_read_at(void *ctx, uint8_t *buf, size_t n, uint64_t off,
		  struct rp_err *e)
{
	const struct rp_fd_src *f = ctx;

	if (off > UINT64_MAX - f->base)
		return rp_err_set(e, RP_ERANGE, "offset out of range");
	return rp_pread_full(f->fd, buf, n, f->base + off, e);
}

void rp_archive_iter_init(struct rp_archive_iter *it, rp_read_at_fn read_at,
			  void *ctx, uint64_t len)
{
	memset(it, 0, sizeof(*it));
	it->read_at = read_at;
	it->ctx = ctx;
	it->len = len;
}

/* Read n bytes at it->off and advance, refusing to run past it->len. */
static int take(struct rp_archive_iter *it, uint8_t *buf, size_t n,
		struct rp_err *e)
{
	int rc;

	if (it->off > it->len || n > it->len - it->off)
		return rp_err_set(e, RP_EFORMAT, "truncated");
	rc = it->read_at(it->ctx, buf, n, it->off, e);
	if (rc)
		return rc;
	it->off += n;
	return 0;
}

/* 1 if p holds a control character (C0 or DEL): refused in paths and
 * targets so names cannot forge lines in logs or terminals. */
static int has_control(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

/* Relative, normalised: no leading '/', no empty, "." or ".." component,
 * no trailing '/', no NUL or other control character. Returns a static
 * reason, or NULL when fine. */
static const char *bad_path(const char *p, size_t n)
{
	size_t i, start = 0;

	if (n == 0)
		return "empty path";
	if (n > RP_ARCHIVE_PATH_MAX)
		return "path too long";
	if (memchr(p, '\0', n))
		return "path contains a NUL byte";
	if (has_control(p, n))
		return "path contains a control character";
	if (p[0] == '/')
		return "absolute path";
	for (i = 0; i <= n; i++) {
		size_t clen;

		if (i < n && p[i] != '/')
			continue;
		clen = i - start;
		if (clen == 0)
			return "empty path component";
		if ((clen == 1 && p[start] == '.') ||
		    (clen == 2 && p[start] == '.' && p[start + 1] == '.'))
			return "'.' or '..' path component";
		start = i + 1;
	}
	return NULL;
}

/* Number of components of a valid path. */
static size_t depth_of(const char *p, size_t n)
{
	size_t i, d = 1;

	for (i = 0; i < n; i++)
		if (p[i] == '/')
			d++;
	return d;
}

/* A symlink target must be relative and normalised to the form
 * "../" * k followed by plain names, and k must not exceed the depth of
 * the link's directory. ".." only at the start means each ".." walks up
 * through real directories (the link's ancestors, all directory entries),
 * never through another symlink, so lexical resolution is the real one and
 * no chain of links can leave the tree. */
static const char *bad_target(const char *link, size_t llen, const char *t,
			      size_t n, int *escapes)
{
	size_t i, start = 0, ups = 0, names = 0;

	*escapes = 0;
	if (n == 0)
		return "empty symlink target";
	if (n > RP_ARCHIVE_PATH_MAX)
		return "symlink target too long";
	if (memchr(t, '\0', n))
		return "symlink target contains a NUL byte";
	if (has_control(t, n))
		return "symlink target contains a control character";
	if (t[0] == '/')
		return "is absolute";
	for (i = 0; i <= n; i++) {
		size_t clen;

		if (i < n && t[i] != '/')
			continue;
		clen = i - start;
		if (clen == 0)
			return "has an empty component";
		if (clen == 1 && t[start] == '.')
			return "has a '.' component";
		if (clen == 2 && t[start] == '.' && t[start + 1] == '.') {
			if (names)
				return "has '..' after a name (not normalised)";
			ups++;
		} else {
			names++;
		}
		start = i + 1;
	}
	/* The link's directory has depth_of(link) - 1 components. */
	if (ups > depth_of(link, llen) - 1) {
		*escapes = 1;
		return "escapes the package";
	}
	return NULL;
}

/* Tree order: bytes compared with '/' below every other byte, shorter
 * first. Equivalent to a depth-first walk with siblings sorted by name, so
 * a directory's subtree follows it immediately. */
static int pathcmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t i, n = al < bl ? al : bl;

	for (i = 0; i < n; i++) {
		unsigned ca = a[i] == '/' ? 0u : (unsigned char)a[i];
		unsigned cb = b[i] == '/' ? 0u : (unsigned char)b[i];

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (al == bl)
		return 0;
	return al < bl ? -1 : 1;
}

static int read_header(struct rp_archive_iter *it, struct rp_err *e)
{
	uint8_t h[RP_ARCHIVE_HEADER_LEN];
	uint16_t ver, rsv;
	uint32_t count;
	int rc;

	if (it->len < RP_ARCHIVE_HEADER_LEN)
		return rp_err_set(e, RP_EFORMAT,
				  "truncated (%llu bytes, smaller than the archive header)",
				  (unsigned long long)it->len);
	rc = take(it, h, sizeof(h), e);
	if (rc)
		return rp_err_prefix(e, "header");
	if (memcmp(h, RP_ARCHIVE_MAGIC, 8) != 0)
		return rp_err_set(e, RP_EFORMAT, "not a Rampart archive (bad magic)");
	ver = rp_dec16le(h + 8);
	rsv = rp_dec16le(h + 10);
	count = rp_dec32le(h + 12);
	if (ver != RP_ARCHIVE_VERSION)
		return rp_err_set(e, RP_EFORMAT, "unsupported archive version %u",
				  (unsigned)ver);
	if (rsv != 0)
		return rp_err_set(e, RP_EFORMAT, "header: reserved field is not zero");
	if (count > RP_ARCHIVE_ENTRIES_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "%lu entries is over the limit of %u",
				  (unsigned long)count, RP_ARCHIVE_ENTRIES_MAX);
	it->total = count;
	it->started = 1;
	return 0;
}

static const char *type_refusal(uint8_t type)
{
	/* 4..7 are the kinds other archivers carry; the format never does.
	 * They get a precise message rather than "unknown type". */
	switch (type) {
	case 4:
	case 5:
		return "device nodes are not allowed";
	case 6:
		return "fifos are not allowed";
	case 7:
		return "sockets are not allowed";
	case 8:
		return "hard links are not allowed";
	default:
		return NULL;
	}
}

int rp_archive_next(struct rp_archive_iter *it, struct rp_archive_entry *out,
		    struct rp_err *e)
{
	uint8_t fx[ENTRY_FIXED_LEN], b8[8];
	const char *why;
	uint16_t mode, plen;
	uint8_t type;
	uint32_t idx;
	size_t parent_len;
	int rc, esc;

	if (!it->started) {
		rc = read_header(it, e);
		if (rc)
			return rc;
	}
	if (it->count >= it->total) {
		if (it->off != it->len)
			return rp_err_set(e, RP_EFORMAT,
					  "%llu bytes after the last entry",
					  (unsigned long long)(it->len - it->off));
		return 1;
	}
	idx = it->count + 1;
	memset(out, 0, sizeof(*out));
	rc = take(it, fx, sizeof(fx), e);
	if (rc)
		return rp_err_prefix(e, "entry %lu", (unsigned long)idx);
	type = fx[0];
	mode = rp_dec16le(fx + 2);
	plen = rp_dec16le(fx + 4);
	if (plen == 0 || plen > RP_ARCHIVE_PATH_MAX)
		return rp_err_set(e, RP_EFORMAT,
				  "entry %lu: path length %u is out of range (1..%u)",
				  (unsigned long)idx, (unsigned)plen,
				  RP_ARCHIVE_PATH_MAX);
	rc = take(it, (uint8_t *)out->path, plen, e);
	if (rc)
		return rp_err_prefix(e, "entry %lu", (unsigned long)idx);
	out->path[plen] = '\0';
	why = bad_path(out->path, plen);
	if (why) {
		/* Do not print a path cut short by a NUL, or one with control
		 * characters, as if it were whole. */
		if (memchr(out->path, '\0', plen) || has_control(out->path, plen))
			return rp_err_set(e, RP_EFORMAT, "entry %lu: %s",
					  (unsigned long)idx, why);
		return rp_err_set(e, RP_EFORMAT, "entry '%s': %s", out->path, why);
	}

	why = type_refusal(type);
	if (why)
		return rp_err_set(e, RP_EPOLICY, "entry '%s': %s", out->path, why);
	if (type != RP_AR_DIR && type != RP_AR_FILE && type != RP_AR_SYMLINK)
		return rp_err_set(e, RP_EFORMAT, "entry '%s': unknown type %u",
				  out->path, (unsigned)type);
	if (fx[1] != 0)
		return rp_err_set(e, RP_EFORMAT, "entry '%s': reserved byte is not zero",
				  out->path);
	if (mode & 07000)
		return rp_err_set(e, RP_EPOLICY,
				  "entry '%s': setuid/setgid/sticky bits are not allowed",
				  out->path);
	if (mode & ~07777)
		return rp_err_set(e, RP_EFORMAT,
				  "entry '%s': mode 0%o has bits outside 0777",
				  out->path, (unsigned)mode);
	if (type == RP_AR_SYMLINK && mode != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "entry '%s': a symlink's mode must be 0", out->path);

	if (it->count > 0) {
		int c = pathcmp(it->prev, it->prev_len, out->path, plen);

		if (c == 0)
			return rp_err_set(e, RP_EFORMAT, "entry '%s': duplicate path",
					  out->path);
		if (c > 0)
			return rp_err_set(e, RP_EFORMAT,
					  "entry '%s': out of order (after '%s')",
					  out->path, it->prev);
	}
	/* The parent must be the previous entry (a directory) or one of its
	 * ancestors; by induction all of those are directory entries. */
	{
		const char *slash = memrchr(out->path, '/', plen);

		parent_len = slash ? (size_t)(slash - out->path) : 0;
	}
	if (parent_len > 0) {
		int ok = 0;

		if (it->count > 0 && parent_len <= it->prev_len &&
		    memcmp(it->prev, out->path, parent_len) == 0) {
			if (parent_len == it->prev_len)
				ok = it->prev_dir;
			else
				ok = it->prev[parent_len] == '/';
		}
		if (!ok)
			return rp_err_set(e, RP_EFORMAT,
					  "entry '%s': parent directory '%.*s' is not in the archive before it",
					  out->path, (int)parent_len, out->path);
	}

	out->type = (enum rp_archive_type)type;
	out->mode = mode;
	if (type == RP_AR_FILE) {
		uint64_t size;

		rc = take(it, b8, 8, e);
		if (rc)
			return rp_err_prefix(e, "entry '%s'", out->path);
		size = rp_dec64le(b8);
		if (size > it->len - it->off)
			return rp_err_set(e, RP_EFORMAT,
					  "entry '%s': truncated (%llu data bytes, %llu left)",
					  out->path, (unsigned long long)size,
					  (unsigned long long)(it->len - it->off));
		out->size = size;
		out->data_off = it->off;
		it->off += size;
		it->nbytes += size;
	} else if (type == RP_AR_SYMLINK) {
		uint16_t tlen;

		rc = take(it, b8, 2, e);
		if (rc)
			return rp_err_prefix(e, "entry '%s'", out->path);
		tlen = rp_dec16le(b8);
		if (tlen == 0 || tlen > RP_ARCHIVE_PATH_MAX)
			return rp_err_set(e, RP_EFORMAT,
					  "entry '%s': symlink target length %u is out of range (1..%u)",
					  out->path, (unsigned)tlen, RP_ARCHIVE_PATH_MAX);
		rc = take(it, (uint8_t *)out->target, tlen, e);
		if (rc)
			return rp_err_prefix(e, "entry '%s'", out->path);
		out->target[tlen] = '\0';
		why = bad_target(out->path, plen, out->target, tlen, &esc);
		if (why) {
			if (memchr(out->target, '\0', tlen) ||
			    has_control(out->target, tlen))
				return rp_err_set(e, RP_EFORMAT, "entry '%s': %s",
						  out->path, why);
			return rp_err_set(e, esc ? RP_EPOLICY : RP_EFORMAT,
					  "entry '%s': symlink target '%s' %s",
					  out->path, out->target, why);
		}
	}

	memcpy(it->prev, out->path, plen + 1);
	it->prev_len = plen;
	it->prev_dir = type == RP_AR_DIR;
	it->count++;
	return 0;
}

int rp_archive_check(rp_read_at_fn read_at, void *ctx, uint64_t len,
		     uint64_t *nentries, uint64_t *nbytes, struct rp_err *e)
{
	struct rp_archive_iter it;
	struct rp_archive_entry *ent = NULL;
	int rc;

	ent = malloc(sizeof(*ent));
	if (!ent)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rp_archive_iter_init(&it, read_at, ctx, len);
	while ((rc = rp_archive_next(&it, ent, e)) == 0)
		;
	if (rc == 1) {
		rc = 0;
		if (nentries)
			*nentries = it.count;
		if (nbytes)
			*nbytes = it.nbytes;
	}
	free(ent);
	return rc;
}

/* ---- Writing ---------------------------------------------------------- */

struct went {
	char *path;
	char *target;    /* symlinks */
	uint64_t size;   /* files */
	uint16_t mode;
	uint8_t type;
};

struct wlist {
	struct went *v;
	size_t n, cap;
};

static void wlist_free(struct wlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].target);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int wlist_add(struct wlist *l, const char *path, uint8_t type,
		     uint16_t mode, uint64_t size, const char *target,
		     struct rp_err *e)
{
	struct went *w;

	if (l->n >= RP_ARCHIVE_ENTRIES_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "more than %u entries in the tree",
				  RP_ARCHIVE_ENTRIES_MAX);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct went *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return rp_err_set(e, RP_ENOMEM, "out of memory");
		l->v = nv;
		l->cap = nc;
	}
	w = &l->v[l->n];
	memset(w, 0, sizeof(*w));
	w->path = strdup(path);
	w->target = target ? strdup(target) : NULL;
	if (!w->path || (target && !w->target)) {
		free(w->path);
		free(w->target);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	w->type = type;
	w->mode = mode;
	w->size = size;
	l->n++;
	return 0;
}

static int namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in the directory open on dfd (not consumed). */
static int list_dir(int dfd, const char *path, char ***names, size_t *count,
		    struct rp_err *e)
{
	DIR *dp = NULL;
	struct dirent *d;
	char **v = NULL;
	size_t n = 0, cap = 0, i;
	int fd = -1, rc;

	fd = dup(dfd);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "'%s'", path);
		goto out;
	}
	dp = fdopendir(fd);
	if (!dp) {
		rc = rp_err_errno(e, errno, "'%s'", path);
		goto out;
	}
	fd = -1;
	rewinddir(dp);
	for (;;) {
		errno = 0;
		d = readdir(dp);
		if (!d) {
			if (errno) {
				rc = rp_err_errno(e, errno, "'%s'", path);
				goto out;
			}
			break;
		}
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (n >= RP_ARCHIVE_ENTRIES_MAX) {
			rc = rp_err_set(e, RP_ERANGE, "more than %u entries in the tree",
					RP_ARCHIVE_ENTRIES_MAX);
			goto out;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				rc = rp_err_set(e, RP_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
			cap = nc;
		}
		v[n] = strdup(d->d_name);
		if (!v[n]) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), namecmp);
	*names = v;
	*count = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	if (dp)
		closedir(dp);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Depth-first, siblings sorted: exactly the archive's tree order. path
 * holds the relative path of the directory open on dfd (plen bytes). */
static int walk(int dfd, char *path, size_t plen, size_t depth,
		struct wlist *l, struct rp_err *e)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if (depth > DEPTH_MAX)
		return rp_err_set(e, RP_ERANGE, "'%s': directories nested too deep",
				  path);
	rc = list_dir(dfd, plen ? path : ".", &names, &n, e);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		const char *name = names[i];
		size_t nlen = strlen(name), clen;
		struct stat st;
		char target[RP_ARCHIVE_PATH_MAX + 2];
		const char *why;
		uint16_t mode;
		int esc;

		clen = plen ? plen + 1 + nlen : nlen;
		if (clen > RP_ARCHIVE_PATH_MAX) {
			rc = rp_err_set(e, RP_ERANGE,
					"'%.*s/%s': path longer than %u bytes",
					(int)plen, path, name, RP_ARCHIVE_PATH_MAX);
			goto out;
		}
		if (plen)
			path[plen] = '/';
		memcpy(path + (plen ? plen + 1 : 0), name, nlen + 1);

		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = rp_err_errno(e, errno, "'%s'", path);
			goto out;
		}
		why = bad_path(path, clen);
		if (why) {
			rc = rp_err_set(e, RP_EFORMAT, "'%s': %s", path, why);
			goto out;
		}
		mode = (uint16_t)(st.st_mode & 07777);
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			rc = rp_err_set(e, RP_EPOLICY,
					"'%s': device nodes are not allowed", path);
			goto out;
		}
		if (S_ISFIFO(st.st_mode)) {
			rc = rp_err_set(e, RP_EPOLICY, "'%s': fifos are not allowed",
					path);
			goto out;
		}
		if (S_ISSOCK(st.st_mode)) {
			rc = rp_err_set(e, RP_EPOLICY, "'%s': sockets are not allowed",
					path);
			goto out;
		}
		if (!S_ISLNK(st.st_mode) && (mode & 07000)) {
			rc = rp_err_set(e, RP_EPOLICY,
					"'%s': setuid/setgid/sticky bits are not allowed",
					path);
			goto out;
		}
		if (S_ISREG(st.st_mode)) {
			rc = wlist_add(l, path, RP_AR_FILE, mode,
				       (uint64_t)st.st_size, NULL, e);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t tl = readlinkat(dfd, name, target, sizeof(target));

			if (tl < 0) {
				rc = rp_err_errno(e, errno, "'%s'", path);
				goto out;
			}
			if ((size_t)tl > RP_ARCHIVE_PATH_MAX) {
				rc = rp_err_set(e, RP_ERANGE,
						"'%s': symlink target longer than %u bytes",
						path, RP_ARCHIVE_PATH_MAX);
				goto out;
			}
			target[tl] = '\0';
			why = bad_target(path, clen, target, (size_t)tl, &esc);
			if (why) {
				rc = rp_err_set(e, esc ? RP_EPOLICY : RP_EFORMAT,
						"'%s': symlink target '%s' %s",
						path, target, why);
				goto out;
			}
			rc = wlist_add(l, path, RP_AR_SYMLINK, 0, 0, target, e);
		} else if (S_ISDIR(st.st_mode)) {
			int cfd;

			rc = wlist_add(l, path, RP_AR_DIR, mode, 0, NULL, e);
			if (rc)
				goto out;
			cfd = openat(dfd, name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				rc = rp_err_errno(e, errno, "'%s'", path);
				goto out;
			}
			rc = walk(cfd, path, clen, depth + 1, l, e);
			close(cfd);
		} else {
			rc = rp_err_set(e, RP_EPOLICY, "'%s': unsupported file type",
					path);
		}
		if (rc)
			goto out;
		path[plen] = '\0';
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Buffered output that hashes what it writes. */
struct wout {
	int fd;
	struct rp_sha256 *h;
	uint8_t *buf;
	size_t n;
	uint64_t total;
};

static int wflush(struct wout *w, struct rp_err *e)
{
	int rc;

	if (w->n == 0)
		return 0;
	if (w->h && rp_sha256_update(w->h, w->buf, w->n))
		return rp_err_set(e, RP_ECRYPTO, "hashing failed");
	rc = rp_write_full(w->fd, w->buf, w->n, e);
	if (rc)
		return rc;
	w->total += w->n;
	w->n = 0;
	return 0;
}

static int wput(struct wout *w, const void *p, size_t n, struct rp_err *e)
{
	const uint8_t *s = p;
	int rc;

	while (n > 0) {
		size_t k = COPY_BUF - w->n;

		if (k == 0) {
			rc = wflush(w, e);
			if (rc)
				return rc;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(w->buf + w->n, s, k);
		w->n += k;
		s += k;
		n -= k;
	}
	return 0;
}

/* Copy exactly size bytes of the regular file at path (below rootfd). */
static int put_file(struct wout *w, int rootfd, const struct went *ent,
		    struct rp_err *e)
{
	uint64_t left = ent->size;
	struct stat st;
	int fd, rc;

	fd = openat(rootfd, ent->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rp_err_errno(e, errno, "'%s'", ent->path);
	if (fstat(fd, &st) < 0) {
		rc = rp_err_errno(e, errno, "'%s'", ent->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != ent->size ||
	    (st.st_mode & 07000)) {
		rc = rp_err_set(e, RP_EIO, "'%s': changed while packing", ent->path);
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		size_t room;
		ssize_t r;

		if (w->n == COPY_BUF) {
			rc = wflush(w, e);
			if (rc)
				goto out;
		}
		room = COPY_BUF - w->n;
		/* Read one byte past the expected end to detect growth. */
		if (left < room)
			room = (size_t)left + 1;
		r = read(fd, w->buf + w->n, room);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = rp_err_errno(e, errno, "'%s'", ent->path);
			goto out;
		}
		if (r == 0)
			break;
		if ((uint64_t)r > left) {
			rc = rp_err_set(e, RP_EIO, "'%s': changed while packing",
					ent->path);
			goto out;
		}
		w->n += (size_t)r;
		left -= (uint64_t)r;
	}
	rc = left ? rp_err_set(e, RP_EIO, "'%s': changed while packing",
			       ent->path) : 0;
out:
	close(fd);
	return rc;
}

int rp_archive_write_dir(const char *dir, int fd, struct rp_sha256 *h,
			 uint64_t *len, struct rp_err *e)
{
	struct wlist l = { NULL, 0, 0 };
	struct wout w = { fd, h, NULL, 0, 0 };
	char *path = NULL;
	uint8_t hdr[RP_ARCHIVE_HEADER_LEN], fx[ENTRY_FIXED_LEN + 8];
	size_t i;
	int rootfd = -1, rc;

	rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = rp_err_errno(e, errno, "%s", dir);
		goto out;
	}
	path = malloc(RP_ARCHIVE_PATH_MAX + 2);
	w.buf = malloc(COPY_BUF);
	if (!path || !w.buf) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	path[0] = '\0';
	rc = walk(rootfd, path, 0, 0, &l, e);
	if (rc)
		goto out;

	memcpy(hdr, RP_ARCHIVE_MAGIC, 8);
	rp_enc16le(hdr + 8, RP_ARCHIVE_VERSION);
	rp_enc16le(hdr + 10, 0);
	rp_enc32le(hdr + 12, (uint32_t)l.n);
	rc = wput(&w, hdr, sizeof(hdr), e);
	for (i = 0; rc == 0 && i < l.n; i++) {
		const struct went *ent = &l.v[i];
		size_t plen = strlen(ent->path);

		fx[0] = ent->type;
		fx[1] = 0;
		rp_enc16le(fx + 2, ent->mode);
		rp_enc16le(fx + 4, (uint16_t)plen);
		rc = wput(&w, fx, ENTRY_FIXED_LEN, e);
		if (rc == 0)
			rc = wput(&w, ent->path, plen, e);
		if (rc)
			break;
		if (ent->type == RP_AR_FILE) {
			rp_enc64le(fx, ent->size);
			rc = wput(&w, fx, 8, e);
			if (rc == 0)
				rc = put_file(&w, rootfd, ent, e);
		} else if (ent->type == RP_AR_SYMLINK) {
			size_t tlen = strlen(ent->target);

			rp_enc16le(fx, (uint16_t)tlen);
			rc = wput(&w, fx, 2, e);
			if (rc == 0)
				rc = wput(&w, ent->target, tlen, e);
		}
	}
	if (rc == 0)
		rc = wflush(&w, e);
	if (rc)
		goto out;
	*len = w.total;
out:
	wlist_free(&l);
	free(w.buf);
	free(path);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

/* ---- Extraction ------------------------------------------------------- */

struct xdir {
	int fd;
	char *path;    /* for messages; NULL for dest */
	size_t plen;   /* length of the directory's path; 0 for dest */
	uint16_t mode;
};

/* Close the directory on top of the stack, applying its final mode now
 * that nothing more is created in it (a 0555 directory stays writable
 * while its children are made). */
static int xpop(struct xdir *st, size_t *n, struct rp_err *e)
{
	struct xdir *d = &st[--*n];
	int rc = 0;

	if (d->path && fchmod(d->fd, (mode_t)(d->mode & 0755)) < 0)
		rc = rp_err_errno(e, errno, "entry '%s'", d->path);
	close(d->fd);
	free(d->path);
	d->fd = -1;
	d->path = NULL;
	return rc;
}

static int dir_is_empty(int dfd, const char *dest, struct rp_err *e)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	rc = list_dir(dfd, dest, &names, &n, e);
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (n)
		return rp_err_set(e, RP_EUSAGE, "%s: not empty", dest);
	return 0;
}

static int put_data(rp_read_at_fn read_at, void *ctx, int fd,
		    const struct rp_archive_entry *ent, uint8_t *buf,
		    struct rp_err *e)
{
	uint64_t off = 0;
	int rc;

	while (off < ent->size) {
		uint64_t left = ent->size - off;
		size_t k = left < COPY_BUF ? (size_t)left : COPY_BUF;

		rc = read_at(ctx, buf, k, ent->data_off + off, e);
		if (rc)
			return rp_err_prefix(e, "entry '%s'", ent->path);
		rc = rp_write_full(fd, buf, k, e);
		if (rc)
			return rp_err_prefix(e, "entry '%s'", ent->path);
		off += k;
	}
	return 0;
}

int rp_archive_extract(rp_read_at_fn read_at, void *ctx, uint64_t len,
		       const char *dest, struct rp_err *e)
{
	struct rp_archive_iter it;
	struct rp_archive_entry *ent = NULL;
	struct xdir *st = NULL;
	uint8_t *buf = NULL;
	size_t nst = 0;
	int fd = -1, rc;

	/* Refuse a bad archive before creating anything. */
	rc = rp_archive_check(read_at, ctx, len, NULL, NULL, e);
	if (rc)
		return rc;
	ent = malloc(sizeof(*ent));
	st = calloc(DEPTH_MAX + 1, sizeof(*st));
	buf = malloc(COPY_BUF);
	if (!ent || !st || !buf) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "%s", dest);
		goto out;
	}
	rc = dir_is_empty(fd, dest, e);
	if (rc)
		goto out;
	st[0].fd = fd;
	st[0].plen = 0;
	nst = 1;
	fd = -1;

	rp_archive_iter_init(&it, read_at, ctx, len);
	while ((rc = rp_archive_next(&it, ent, e)) == 0) {
		size_t plen = strlen(ent->path), parent_len;
		const char *slash = memrchr(ent->path, '/', plen);
		const char *name;
		int pfd;

		parent_len = slash ? (size_t)(slash - ent->path) : 0;
		name = slash ? slash + 1 : ent->path;
		/* The iterator proved the parent is an ancestor on the stack. */
		while (nst > 1 && st[nst - 1].plen != parent_len) {
			rc = xpop(st, &nst, e);
			if (rc)
				goto out;
		}
		if (st[nst - 1].plen != parent_len) {
			rc = rp_err_set(e, RP_EFORMAT, "entry '%s': no parent", ent->path);
			goto out;
		}
		pfd = st[nst - 1].fd;
		switch (ent->type) {
		case RP_AR_DIR:
			if (nst > DEPTH_MAX) {
				rc = rp_err_set(e, RP_ERANGE, "entry '%s': too deep",
						ent->path);
				goto out;
			}
			if (mkdirat(pfd, name, 0700) < 0) {
				rc = rp_err_errno(e, errno, "entry '%s'", ent->path);
				goto out;
			}
			fd = openat(pfd, name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				rc = rp_err_errno(e, errno, "entry '%s'", ent->path);
				goto out;
			}
			st[nst].path = strdup(ent->path);
			if (!st[nst].path) {
				rc = rp_err_set(e, RP_ENOMEM, "out of memory");
				goto out;
			}
			st[nst].fd = fd;
			st[nst].plen = plen;
			st[nst].mode = ent->mode;
			nst++;
			fd = -1;
			break;
		case RP_AR_FILE:
			fd = openat(pfd, name,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    0600);
			if (fd < 0) {
				rc = rp_err_errno(e, errno, "entry '%s'", ent->path);
				goto out;
			}
			rc = put_data(read_at, ctx, fd, ent, buf, e);
			if (rc)
				goto out;
			if (fchmod(fd, (mode_t)(ent->mode & 0755)) < 0) {
				rc = rp_err_errno(e, errno, "entry '%s'", ent->path);
				goto out;
			}
			if (close(fd) < 0) {
				fd = -1;
				rc = rp_err_errno(e, errno, "entry '%s'", ent->path);
				goto out;
			}
			fd = -1;
			break;
		case RP_AR_SYMLINK:
			if (symlinkat(ent->target, pfd, name) < 0) {
				rc = rp_err_errno(e, errno, "entry '%s'", ent->path);
				goto out;
			}
			break;
		}
	}
	if (rc != 1)
		goto out;
	rc = 0;
	while (nst > 0 && rc == 0)
		rc = xpop(st, &nst, e);
out:
	while (st && nst > 0) {
		close(st[nst - 1].fd);
		free(st[nst - 1].path);
		nst--;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	free(st);
	free(ent);
	return rc;
}
