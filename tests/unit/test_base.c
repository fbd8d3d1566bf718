/* Unit tests for lib/base: errors, bounded reader, capped buffer, number
 * parser, file helpers, hex, strict JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/num.h"
#include "base/rd.h"

static void test_err_prefix(void **state)
{
	struct rp_err e;

	(void)state;
	rp_err_clear(&e);
	assert_int_equal(rp_err_set(&e, RP_EFORMAT, "Gpio[%d]: bad", 1), RP_EFORMAT);
	assert_int_equal(rp_err_prefix(&e, "manifest"), RP_EFORMAT);
	assert_int_equal(rp_err_prefix(&e, "app '%s'", "x"), RP_EFORMAT);
	assert_string_equal(e.msg, "app 'x': manifest: Gpio[1]: bad");
	assert_int_equal(rp_err_errno(&e, ENOENT, "open %s", "f"), -ENOENT);
	assert_string_equal(e.msg, "open f: No such file or directory");
	assert_string_equal(rp_code_name(RP_EVERIFY), "verification failed");
}

static void test_err_truncates(void **state)
{
	struct rp_err e;
	char big[2000];
	int i;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rp_err_set(&e, RP_EINVAL, "%s", big);
	assert_int_equal(strlen(e.msg), RP_ERR_MSG_MAX - 1);
	for (i = 0; i < 100; i++)
		rp_err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), RP_ERR_MSG_MAX - 1);
	assert_int_equal(e.code, RP_EINVAL);
}

static void test_show(void **state)
{
	char out[RP_SHOW_BUF], big[100];

	(void)state;
	assert_string_equal(rp_show("ok", out), "ok");
	assert_string_equal(rp_show("a\"b\\c\n\x7f", out), "a?b?c??");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strlen(rp_show(big, out)), RP_SHOW_MAX + 3);
	assert_non_null(strstr(out, "..."));
}

static void test_reader(void **state)
{
	static const uint8_t b[] = { 1, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9 };
	struct rp_rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *v;

	(void)state;
	rp_rd_init(&r, b, sizeof(b));
	assert_int_equal(rp_rd_u8(&r, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(rp_rd_u16(&r, &u16), 0);
	assert_int_equal(u16, 2);
	assert_int_equal(rp_rd_u32(&r, &u32), 0);
	assert_int_equal(u32, 3);
	assert_int_equal(rp_rd_u64(&r, &u64), 0);
	assert_int_equal(u64, 4);
	assert_int_equal(rp_rd_left(&r), 1);
	/* A failed read does not move the reader. */
	assert_int_equal(rp_rd_u16(&r, &u16), RP_EFORMAT);
	assert_int_equal(rp_rd_view(&r, &v, SIZE_MAX), RP_EFORMAT);
	assert_int_equal(rp_rd_left(&r), 1);
	assert_int_equal(rp_rd_u8(&r, &u8), 0);
	assert_int_equal(u8, 9);
	assert_int_equal(rp_rd_u8(&r, &u8), RP_EFORMAT);
	assert_int_equal(rp_rd_skip(&r, 0), 0);
}

static void test_bytes(void **state)
{
	uint8_t b[8];

	(void)state;
	rp_enc64le(b, UINT64_C(0x0102030405060708));
	assert_int_equal(b[0], 8);
	assert_int_equal(b[7], 1);
	assert_true(rp_dec64le(b) == UINT64_C(0x0102030405060708));
	rp_enc16le(b, 0xBEEF);
	assert_int_equal(rp_dec16le(b), 0xBEEF);
	rp_enc32le(b, 0xDEADBEEF);
	assert_true(rp_dec32le(b) == 0xDEADBEEF);
}

static void test_buf_cap(void **state)
{
	struct rp_buf b;
	int i;

	(void)state;
	rp_buf_init(&b, 10);
	assert_int_equal(rp_buf_append(&b, "hello", 5), 0);
	assert_int_equal(rp_buf_printf(&b, "%d", 1234), 0);
	assert_int_equal(b.len, 9);
	assert_string_equal((char *)b.data, "hello1234");
	assert_int_equal(rp_buf_append(&b, "xy", 2), RP_ERANGE);
	assert_int_equal(b.len, 9); /* unchanged on failure */
	assert_int_equal(rp_buf_printf(&b, "%s", "toolong"), RP_ERANGE);
	assert_int_equal(rp_buf_append(&b, "z", 1), 0);
	assert_int_equal(b.len, 10);
	rp_buf_reset(&b);
	assert_int_equal(b.len, 0);
	rp_buf_free(&b);
	rp_buf_free(&b); /* idempotent */

	rp_buf_init(&b, 1 << 20);
	for (i = 0; i < 1000; i++)
		assert_int_equal(rp_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 10000);
	rp_buf_free_wipe(&b);
}

static void test_num(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(rp_parse_u64z("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rp_parse_u64z("65535", 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(rp_parse_u64z("65536", 65535, &v), RP_ERANGE);
	assert_int_equal(rp_parse_u64z("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(rp_parse_u64z("18446744073709551616", UINT64_MAX, &v), RP_ERANGE);
	assert_int_equal(rp_parse_u64z("99999999999999999999999", UINT64_MAX, &v), RP_ERANGE);
	assert_int_equal(rp_parse_u64z("", 10, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z("-1", 10, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z("+1", 10, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z(" 1", 10, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z("1 ", 10, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z("0x10", 100, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z("010", 100, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64z(NULL, 100, &v), RP_EINVAL);
	assert_int_equal(rp_parse_u64("123abc", 3, 1000, &v), 0);
	assert_int_equal(v, 123);
}

static void test_hex(void **state)
{
	static const uint8_t b[] = { 0x00, 0xab, 0xff };
	uint8_t out[3];
	char s[7];

	(void)state;
	rp_hex(b, 3, s);
	assert_string_equal(s, "00abff");
	assert_int_equal(rp_unhex("00ABff", 6, out, 3), 0);
	assert_memory_equal(out, b, 3);
	assert_int_equal(rp_unhex("00abf", 5, out, 3), RP_EINVAL);
	assert_int_equal(rp_unhex("00abfg", 6, out, 3), RP_EINVAL);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/rp-test-base-XXXXXX", path[256];
	struct rp_buf b;
	struct rp_err e;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(rp_file_write(path, "abc", 3, 0600, 1, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* excl refuses to overwrite; non-excl replaces. */
	assert_int_equal(rp_file_write(path, "x", 1, 0600, 1, &e), -EEXIST);
	assert_int_equal(rp_file_read(path, 100, &b, &e), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal((char *)b.data, "abc");
	rp_buf_free(&b);
	assert_int_equal(rp_file_write(path, "wxyz", 4, 0644, 0, &e), 0);
	/* The cap is checked before reading. */
	assert_int_equal(rp_file_read(path, 3, &b, &e), RP_ERANGE);
	assert_non_null(strstr(e.msg, "over the limit"));
	assert_int_equal(rp_file_read(dir, 100, &b, &e), RP_EINVAL);
	(void)snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(rp_file_read(path, 100, &b, &e), -ENOENT);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_json(void **state)
{
	static const char *const allowed[] = { "A", "B", NULL };
	struct rp_err e;
	json_t *v = NULL;

	(void)state;
	assert_int_equal(rp_json_parse((const uint8_t *)"{\"A\":1}", 7, 100, &v, &e), 0);
	assert_int_equal(rp_json_only_keys(v, allowed, "", &e), 0);
	json_decref(v);
	assert_int_equal(rp_json_parse((const uint8_t *)"{\"A\":1,\"C\":2}", 13, 100, &v, &e), 0);
	assert_int_equal(rp_json_only_keys(v, allowed, "Capabilities", &e), RP_EFORMAT);
	assert_string_equal(e.msg, "Capabilities.C: unknown key");
	assert_int_equal(rp_json_only_keys(v, allowed, "", &e), RP_EFORMAT);
	assert_string_equal(e.msg, "C: unknown key");
	json_decref(v);
	assert_int_equal(rp_json_parse((const uint8_t *)"{\"A\":1,\"A\":2}", 13, 100, &v, &e),
			 RP_EFORMAT);
	assert_int_equal(rp_json_parse((const uint8_t *)"{} x", 4, 100, &v, &e), RP_EFORMAT);
	assert_int_equal(rp_json_parse((const uint8_t *)"{\"A\":\"\0\"}", 9, 100, &v, &e),
			 RP_EFORMAT);
	assert_int_equal(rp_json_parse((const uint8_t *)"{}", 2, 1, &v, &e), RP_ERANGE);
	assert_int_equal(rp_json_parse((const uint8_t *)"{", 1, 100, &v, &e), RP_EFORMAT);
	assert_non_null(strstr(e.msg, "line 1"));
}

static void test_json_getters(void **state)
{
	struct rp_err e;
	const char *s;
	long long n;
	uint64_t u;
	json_t *v;

	(void)state;
	v = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s%}", "a", "ok", "t", "x\ty",
		      "empty", "", "n", -5, "big", 70000, "nul", "a\0b", (size_t)3);
	assert_non_null(v);
	assert_int_equal(rp_json_text(json_object_get(v, "a"), "A", 10, 0, &s, &e), 0);
	assert_string_equal(s, "ok");
	assert_int_equal(rp_json_text(json_object_get(v, "a"), "A", 1, 0, &s, &e), RP_ERANGE);
	assert_string_equal(e.msg, "A: 2 bytes, at most 1");
	assert_int_equal(rp_json_text(json_object_get(v, "t"), "T", 10, 0, &s, &e), RP_EFORMAT);
	assert_string_equal(e.msg, "T: contains a control character");
	assert_int_equal(rp_json_text(json_object_get(v, "t"), "T", 10, RP_JSON_TAB_OK, &s, &e), 0);
	assert_int_equal(rp_json_text(json_object_get(v, "empty"), "E", 10, 0, &s, &e), RP_EFORMAT);
	assert_string_equal(e.msg, "E: must not be empty");
	assert_int_equal(rp_json_text(json_object_get(v, "empty"), "E", 10, RP_JSON_EMPTY_OK, &s, &e), 0);
	assert_int_equal(rp_json_text(json_object_get(v, "nul"), "N", 10, 0, &s, &e), RP_EFORMAT);
	assert_string_equal(e.msg, "N: contains a NUL character");
	assert_int_equal(rp_json_text(json_object_get(v, "n"), "X", 10, 0, &s, &e), RP_EFORMAT);
	assert_string_equal(e.msg, "X: expected a string, got an integer");
	assert_int_equal(rp_json_int(json_object_get(v, "n"), "N", -10, 10, &n, &e), 0);
	assert_int_equal(n, -5);
	assert_int_equal(rp_json_uint(json_object_get(v, "n"), "N", 0, 10, &u, &e), RP_ERANGE);
	assert_int_equal(rp_json_uint(json_object_get(v, "big"), "B", 1, 65535, &u, &e), RP_ERANGE);
	assert_string_equal(e.msg, "B: must be 1..65535, got 70000");
	assert_int_equal(rp_json_int(json_object_get(v, "a"), "A", 0, 1, &n, &e), RP_EFORMAT);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_err_truncates),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_num),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_getters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
