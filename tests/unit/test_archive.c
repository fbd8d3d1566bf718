/* Payload archive: the strict reader on crafted bytes, the writer on real
 * trees (including the kinds of file it must refuse) and extraction. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/file.h"
#include "format/archive.h"

/* ---- A builder for hand-made archives -------------------------------- */

struct ab {
	struct rp_buf b;
};

static void ab_start(struct ab *a, uint32_t count)
{
	uint8_t h[RP_ARCHIVE_HEADER_LEN];

	rp_buf_init(&a->b, 1u << 20);
	memcpy(h, RP_ARCHIVE_MAGIC, 8);
	rp_enc16le(h + 8, RP_ARCHIVE_VERSION);
	rp_enc16le(h + 10, 0);
	rp_enc32le(h + 12, count);
	assert_int_equal(rp_buf_append(&a->b, h, sizeof(h)), 0);
}

static void ab_raw(struct ab *a, uint8_t type, uint16_t mode, const char *path)
{
	uint8_t f[6];
	size_t n = strlen(path);

	f[0] = type;
	f[1] = 0;
	rp_enc16le(f + 2, mode);
	rp_enc16le(f + 4, (uint16_t)n);
	assert_int_equal(rp_buf_append(&a->b, f, sizeof(f)), 0);
	assert_int_equal(rp_buf_append(&a->b, path, n), 0);
}

static void ab_dir(struct ab *a, const char *path, uint16_t mode)
{
	ab_raw(a, RP_AR_DIR, mode, path);
}

static void ab_file(struct ab *a, const char *path, uint16_t mode,
		    const char *data)
{
	uint8_t s[8];
	size_t n = strlen(data);

	ab_raw(a, RP_AR_FILE, mode, path);
	rp_enc64le(s, n);
	assert_int_equal(rp_buf_append(&a->b, s, 8), 0);
	assert_int_equal(rp_buf_append(&a->b, data, n), 0);
}

static void ab_link(struct ab *a, const char *path, const char *target)
{
	uint8_t s[2];
	size_t n = strlen(target);

	ab_raw(a, RP_AR_SYMLINK, 0, path);
	rp_enc16le(s, (uint16_t)n);
	assert_int_equal(rp_buf_append(&a->b, s, 2), 0);
	assert_int_equal(rp_buf_append(&a->b, target, n), 0);
}

static int check_mem(const uint8_t *p, size_t n, uint64_t *ne, uint64_t *nb,
		     struct rp_err *e)
{
	struct rp_mem_src m = { p, n };

	rp_err_clear(e);
	return rp_archive_check(rp_mem_read_at, &m, n, ne, nb, e);
}

static void expect_refused(struct ab *a, const char *want)
{
	struct rp_err e;
	int rc = check_mem(a->b.data, a->b.len, NULL, NULL, &e);

	if (rc == 0 || !strstr(e.msg, want))
		fail_msg("expected refusal with '%s', got rc %d '%s'", want, rc,
			 e.msg);
	rp_buf_free(&a->b);
}

static void good_archive(struct ab *a)
{
	ab_start(a, 7);
	ab_dir(a, "a", 0755);
	ab_file(a, "a/f", 0644, "hello");
	ab_link(a, "a/l", "f");
	ab_file(a, "a-c", 0600, "x");
	ab_dir(a, "b", 0755);
	ab_link(a, "b/up", "../a/f");
	ab_file(a, "top", 0755, "");
}

static void test_good(void **state)
{
	struct ab a;
	struct rp_err e;
	uint64_t ne = 0, nb = 0;

	(void)state;
	good_archive(&a);
	assert_int_equal(check_mem(a.b.data, a.b.len, &ne, &nb, &e), 0);
	assert_int_equal(ne, 7);
	assert_int_equal(nb, 6);
	rp_buf_free(&a.b);

	ab_start(&a, 0);
	assert_int_equal(check_mem(a.b.data, a.b.len, &ne, &nb, &e), 0);
	assert_int_equal(ne, 0);
	rp_buf_free(&a.b);
}

/* Cutting a valid archive anywhere, or adding a byte, is refused. */
static void test_truncate_extend(void **state)
{
	struct ab a;
	struct rp_err e;
	size_t i;

	(void)state;
	good_archive(&a);
	for (i = 0; i < a.b.len; i++)
		assert_int_not_equal(check_mem(a.b.data, i, NULL, NULL, &e), 0);
	assert_int_equal(rp_buf_append(&a.b, "\0", 1), 0);
	assert_int_not_equal(check_mem(a.b.data, a.b.len, NULL, NULL, &e), 0);
	assert_non_null(strstr(e.msg, "1 bytes after the last entry"));
	rp_buf_free(&a.b);
}

static void test_refusals(void **state)
{
	struct ab a;

	(void)state;
	ab_start(&a, 2);
	ab_dir(&a, "dev", 0755);
	ab_raw(&a, 4, 0600, "dev/sda");
	expect_refused(&a, "entry 'dev/sda': device nodes are not allowed");

	ab_start(&a, 1);
	ab_raw(&a, 6, 0600, "fifo");
	expect_refused(&a, "entry 'fifo': fifos are not allowed");

	ab_start(&a, 1);
	ab_raw(&a, 9, 0600, "x");
	expect_refused(&a, "entry 'x': unknown type 9");

	ab_start(&a, 2);
	ab_dir(&a, "bin", 0755);
	ab_file(&a, "bin/su", 04755, "x");
	expect_refused(&a, "entry 'bin/su': setuid/setgid/sticky bits are not allowed");

	ab_start(&a, 1);
	ab_dir(&a, "tmp", 01777);
	expect_refused(&a, "entry 'tmp': setuid/setgid/sticky bits are not allowed");

	ab_start(&a, 1);
	ab_file(&a, "f", 0100644, "x");
	expect_refused(&a, "entry 'f': mode 0100644 has bits outside 0777");

	ab_start(&a, 2);
	ab_dir(&a, "lib", 0755);
	ab_link(&a, "lib/x", "../../etc/passwd");
	expect_refused(&a, "entry 'lib/x': symlink target '../../etc/passwd' escapes the package");

	ab_start(&a, 1);
	ab_link(&a, "x", "..");
	expect_refused(&a, "symlink target '..' escapes the package");

	ab_start(&a, 1);
	ab_link(&a, "x", "/etc/passwd");
	expect_refused(&a, "entry 'x': symlink target '/etc/passwd' is absolute");

	/* ".." after a name could step through another symlink. */
	ab_start(&a, 2);
	ab_dir(&a, "a", 0755);
	ab_link(&a, "a/x", "up/../..");
	expect_refused(&a, "not normalised");

	ab_start(&a, 1);
	ab_link(&a, "x", "./y");
	expect_refused(&a, "has a '.' component");

	ab_start(&a, 1);
	ab_link(&a, "x", "y/");
	expect_refused(&a, "has an empty component");

	ab_start(&a, 1);
	ab_raw(&a, RP_AR_SYMLINK, 0777, "x");
	expect_refused(&a, "a symlink's mode must be 0");

	ab_start(&a, 2);
	ab_dir(&a, "a", 0755);
	ab_file(&a, "a/../b", 0644, "x");
	expect_refused(&a, "entry 'a/../b': '.' or '..' path component");

	ab_start(&a, 1);
	ab_file(&a, "/etc/passwd", 0644, "x");
	expect_refused(&a, "entry '/etc/passwd': absolute path");

	ab_start(&a, 1);
	ab_dir(&a, "a/", 0755);
	expect_refused(&a, "entry 'a/': empty path component");

	ab_start(&a, 1);
	ab_file(&a, "a//b", 0644, "x");
	expect_refused(&a, "empty path component");

	ab_start(&a, 1);
	ab_file(&a, "", 0644, "x");
	expect_refused(&a, "path length 0 is out of range");

	ab_start(&a, 1);
	ab_file(&a, "a\nb", 0644, "x");
	expect_refused(&a, "entry 1: path contains a control character");

	ab_start(&a, 1);
	ab_link(&a, "l", "x\x1b[2J");
	expect_refused(&a, "entry 'l': symlink target contains a control character");

	ab_start(&a, 2);
	ab_file(&a, "b", 0644, "x");
	ab_file(&a, "a", 0644, "x");
	expect_refused(&a, "entry 'a': out of order (after 'b')");

	/* Tree order: "a/b" sorts before "a-c" although '-' < '/'. */
	ab_start(&a, 3);
	ab_dir(&a, "a", 0755);
	ab_file(&a, "a-c", 0644, "x");
	ab_file(&a, "a/b", 0644, "x");
	expect_refused(&a, "entry 'a/b': out of order (after 'a-c')");

	ab_start(&a, 2);
	ab_file(&a, "a", 0644, "x");
	ab_file(&a, "a", 0644, "y");
	expect_refused(&a, "entry 'a': duplicate path");

	ab_start(&a, 2);
	ab_dir(&a, "a", 0755);
	ab_dir(&a, "a", 0755);
	expect_refused(&a, "entry 'a': duplicate path");

	ab_start(&a, 1);
	ab_file(&a, "a/b", 0644, "x");
	expect_refused(&a, "entry 'a/b': parent directory 'a' is not in the archive before it");

	/* A file is no parent. */
	ab_start(&a, 2);
	ab_file(&a, "a", 0644, "x");
	ab_file(&a, "a/b", 0644, "x");
	expect_refused(&a, "parent directory 'a' is not in the archive before it");

	/* The parent must be an ancestor of the previous entry. */
	ab_start(&a, 4);
	ab_dir(&a, "a", 0755);
	ab_dir(&a, "b", 0755);
	ab_dir(&a, "b/c", 0755);
	ab_file(&a, "b/d/e", 0644, "x");
	expect_refused(&a, "parent directory 'b/d' is not in the archive before it");

	ab_start(&a, 2);
	ab_file(&a, "a", 0644, "x");
	expect_refused(&a, "entry 2: truncated");

	ab_start(&a, RP_ARCHIVE_ENTRIES_MAX + 1);
	expect_refused(&a, "entries is over the limit");

	ab_start(&a, 1);
	a.b.data[0] = 'X';
	expect_refused(&a, "not a Rampart archive");

	ab_start(&a, 1);
	a.b.data[8] = 2;
	expect_refused(&a, "unsupported archive version 2");

	ab_start(&a, 1);
	a.b.data[10] = 1;
	expect_refused(&a, "reserved field is not zero");

	ab_start(&a, 1);
	ab_file(&a, "f", 0644, "x");
	a.b.data[RP_ARCHIVE_HEADER_LEN + 1] = 1;
	expect_refused(&a, "entry 'f': reserved byte is not zero");

	/* A file whose size runs past the end. */
	ab_start(&a, 1);
	ab_file(&a, "f", 0644, "abc");
	a.b.data[a.b.len - 3 - 8] = 4;
	expect_refused(&a, "entry 'f': truncated");

	{
		uint8_t z[6] = { RP_AR_FILE, 0, 0xa4, 0x01, 3, 0 };

		ab_start(&a, 1);
		assert_int_equal(rp_buf_append(&a.b, z, 6), 0);
		assert_int_equal(rp_buf_append(&a.b, "a\0b", 3), 0);
		expect_refused(&a, "entry 1: path contains a NUL byte");
	}
}

/* Every byte of a good archive flipped in turn: refused or still a valid
 * archive, never a crash (ASan watches the reads). */
static void test_flip_no_crash(void **state)
{
	struct ab a;
	struct rp_err e;
	size_t i;
	int bit;

	(void)state;
	good_archive(&a);
	for (i = 0; i < a.b.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			a.b.data[i] ^= (uint8_t)(1u << bit);
			(void)check_mem(a.b.data, a.b.len, NULL, NULL, &e);
			a.b.data[i] ^= (uint8_t)(1u << bit);
		}
	}
	rp_buf_free(&a.b);
}

/* ---- Real trees ------------------------------------------------------ */

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	(void)nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *dir, const char *rel, const char *data,
		mode_t mode)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void mkd(const char *dir, const char *rel, mode_t mode)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void lnk(const char *dir, const char *rel, const char *target)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void make_tree(char *dir)
{
	snprintf(dir, 64, "/tmp/rp-ar-XXXXXX");
	assert_non_null(mkdtemp(dir));
	mkd(dir, "bin", 0755);
	put(dir, "bin/app", "#!/bin/sh\necho hi\n", 0755);
	lnk(dir, "bin/link", "app");
	mkd(dir, "share", 0755);
	mkd(dir, "share/ro", 0555);
	put(dir, "share/data.txt", "data\n", 0644);
	put(dir, "share/wide", "w", 0666);
	lnk(dir, "share/up", "../bin/app");
	put(dir, "z-top", "", 0600);
}

/* Pack dir into a temp file: returns its fd (positioned anywhere) and
 * length, or a negative code with e filled. */
static int pack_tree(const char *dir, int *fdp, uint64_t *len, struct rp_err *e)
{
	char tmpl[] = "/tmp/rp-ar-out-XXXXXX";
	int fd = mkstemp(tmpl), rc;

	assert_true(fd >= 0);
	unlink(tmpl);
	rp_err_clear(e);
	rc = rp_archive_write_dir(dir, fd, NULL, len, e);
	if (rc) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

static void expect_same_file(const char *a, const char *b, mode_t mode)
{
	struct rp_buf x, y;
	struct rp_err e;
	struct stat st;

	assert_int_equal(rp_file_read(a, 1 << 20, &x, &e), 0);
	assert_int_equal(rp_file_read(b, 1 << 20, &y, &e), 0);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	assert_int_equal(lstat(b, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
	rp_buf_free(&x);
	rp_buf_free(&y);
}

static void test_write_extract(void **state)
{
	char src[64], dst[64], p[256], q[256], t[64];
	struct rp_fd_src fs;
	struct rp_err e;
	struct stat st;
	uint64_t len = 0, ne = 0, nb = 0, len2 = 0;
	int fd = -1, fd2 = -1;
	ssize_t n;

	(void)state;
	make_tree(src);
	assert_int_equal(pack_tree(src, &fd, &len, &e), 0);
	fs.fd = fd;
	fs.base = 0;
	assert_int_equal(rp_archive_check(rp_fd_read_at, &fs, len, &ne, &nb, &e), 0);
	assert_int_equal(ne, 9);
	assert_int_equal(nb, strlen("#!/bin/sh\necho hi\n") + 5 + 1);

	/* Reproducible: a second run gives the same bytes. */
	assert_int_equal(pack_tree(src, &fd2, &len2, &e), 0);
	assert_int_equal(len, len2);
	{
		uint8_t *x = malloc(len), *y = malloc(len);

		assert_int_equal(pread(fd, x, len, 0), (ssize_t)len);
		assert_int_equal(pread(fd2, y, len, 0), (ssize_t)len);
		assert_memory_equal(x, y, len);
		free(x);
		free(y);
	}
	close(fd2);

	snprintf(dst, sizeof(dst), "/tmp/rp-ar-x-XXXXXX");
	assert_non_null(mkdtemp(dst));
	assert_int_equal(rp_archive_extract(rp_fd_read_at, &fs, len, dst, &e), 0);
	snprintf(p, sizeof(p), "%s/bin/app", src);
	snprintf(q, sizeof(q), "%s/bin/app", dst);
	expect_same_file(p, q, 0755);
	snprintf(p, sizeof(p), "%s/share/data.txt", src);
	snprintf(q, sizeof(q), "%s/share/data.txt", dst);
	expect_same_file(p, q, 0644);
	snprintf(p, sizeof(p), "%s/share/wide", src);
	snprintf(q, sizeof(q), "%s/share/wide", dst);
	expect_same_file(p, q, 0644); /* 0666 & 0755 */
	snprintf(p, sizeof(p), "%s/z-top", src);
	snprintf(q, sizeof(q), "%s/z-top", dst);
	expect_same_file(p, q, 0600);
	snprintf(q, sizeof(q), "%s/share/ro", dst);
	assert_int_equal(lstat(q, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0555);
	snprintf(q, sizeof(q), "%s/share/up", dst);
	n = readlink(q, t, sizeof(t) - 1);
	assert_true(n > 0);
	t[n] = '\0';
	assert_string_equal(t, "../bin/app");

	/* Not into a non-empty directory. */
	rp_err_clear(&e);
	assert_int_not_equal(rp_archive_extract(rp_fd_read_at, &fs, len, dst, &e), 0);
	assert_non_null(strstr(e.msg, "not empty"));
	rm_tree(dst);

	/* A bad archive creates nothing. */
	snprintf(dst, sizeof(dst), "/tmp/rp-ar-x-XXXXXX");
	assert_non_null(mkdtemp(dst));
	assert_int_not_equal(rp_archive_extract(rp_fd_read_at, &fs, len - 1, dst, &e), 0);
	assert_int_equal(rmdir(dst), 0);

	close(fd);
	rm_tree(src);
}

static void expect_write_refused(const char *dir, const char *want)
{
	struct rp_err e;
	uint64_t len;
	int fd = -1, rc;

	rc = pack_tree(dir, &fd, &len, &e);
	if (rc == 0) {
		close(fd);
		fail_msg("tree packed, expected '%s'", want);
	}
	if (!strstr(e.msg, want))
		fail_msg("expected '%s', got '%s'", want, e.msg);
}

static void test_write_refusals(void **state)
{
	char dir[64], p[128];

	(void)state;
	make_tree(dir);
	snprintf(p, sizeof(p), "%s/share/pipe", dir);
	assert_int_equal(mkfifo(p, 0644), 0);
	expect_write_refused(dir, "'share/pipe': fifos are not allowed");
	unlink(p);

	snprintf(p, sizeof(p), "%s/bin/su", dir);
	put(dir, "bin/su", "x", 0755);
	assert_int_equal(chmod(p, 04755), 0);
	expect_write_refused(dir, "'bin/su': setuid/setgid/sticky bits are not allowed");
	unlink(p);

	lnk(dir, "bin/esc", "../../etc/passwd");
	expect_write_refused(dir, "'bin/esc': symlink target '../../etc/passwd' escapes the package");
	snprintf(p, sizeof(p), "%s/bin/esc", dir);
	unlink(p);

	lnk(dir, "abs", "/etc/passwd");
	expect_write_refused(dir, "'abs': symlink target '/etc/passwd' is absolute");
	snprintf(p, sizeof(p), "%s/abs", dir);
	unlink(p);

	snprintf(p, sizeof(p), "%s/null", dir);
	if (mknod(p, S_IFCHR | 0600, makedev(1, 3)) == 0) {
		expect_write_refused(dir, "'null': device nodes are not allowed");
		unlink(p);
	} else {
		assert_true(errno == EPERM || errno == EACCES);
	}

	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_truncate_extend),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_flip_no_crash),
		cmocka_unit_test(test_write_extract),
		cmocka_unit_test(test_write_refusals),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
