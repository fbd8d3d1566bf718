/* Unit tests for lib/store: the error-report ring (records, torn writes,
 * wrap-around, aggregation), the app log rings, app state and uid
 * allocation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/manifest.h"
#include "store/apps.h"
#include "store/logring.h"
#include "store/reports.h"

#define ID "3f9b2c1e-6a47-4d2b-9e35-0c8a1f7d5e42"

/* The group state: a scratch directory. */
static int setup(void **state)
{
	char *dir = malloc(64);

	if (!dir)
		return -1;
	memcpy(dir, "/tmp/rp-test-reports-XXXXXX", 28);
	*state = dir;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	int rc;

	snprintf(cmd, sizeof(cmd), "rm -rf %s", (char *)*state);
	rc = system(cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

static void path(void **state, char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", (const char *)*state, name);
	unlink(out);
}

static void mk(struct rp_report *r, int kind, int status, uint64_t t)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(rp_guid_parse(ID, 36, r->component_id), 0);
	r->type = RP_EVENT_UNPLANNED;
	r->cls = RP_CLASS_APP;
	r->kind = (enum rp_exit_kind)kind;
	r->status = status;
	r->time = t;
	memcpy(r->version, "1.2.3", 6);
	memcpy(r->name, "hello", 6);
}

static void test_record_roundtrip(void **state)
{
	uint8_t rec[RP_REPORT_LEN];
	struct rp_report r, back;
	struct rp_err e;
	size_t i;

	(void)state;
	mk(&r, RP_EXIT_SIGNAL, 11, 1700000000);
	r.seq = 42;
	r.restarts = 3;
	r.security_version = 9;
	memcpy(r.detail, "x", 2);
	rp_report_encode(&r, rec);
	assert_int_equal(rp_report_decode(rec, &back, &e), 0);
	assert_int_equal(back.seq, 42);
	assert_int_equal(back.status, 11);
	assert_int_equal(back.restarts, 3);
	assert_int_equal(back.security_version, 9);
	assert_string_equal(back.version, "1.2.3");
	assert_string_equal(back.name, "hello");
	assert_string_equal(back.detail, "x");
	/* Any flipped bit is caught. */
	for (i = 0; i < RP_REPORT_LEN; i++) {
		rec[i] ^= 0x10;
		assert_int_equal(rp_report_decode(rec, &back, &e), RP_EFORMAT);
		rec[i] ^= 0x10;
	}
	/* Negative exit statuses survive two's complement. */
	r.kind = RP_EXIT_CODE;
	r.status = -1;
	rp_report_encode(&r, rec);
	assert_int_equal(rp_report_decode(rec, &back, &e), 0);
	assert_int_equal(back.status, -1);
	assert_int_equal(rp_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static void test_ring(void **state)
{
	struct rp_reports s;
	struct rp_report r, *all = NULL;
	struct rp_err e;
	char p[128];
	size_t n;
	int i;

	path(state, p, sizeof(p), "reports.log");
	assert_int_equal(rp_reports_open(p, 16, &s, &e), 0);
	for (i = 0; i < 40; i++) {
		mk(&r, RP_EXIT_CODE, i, (uint64_t)(1000 + i));
		assert_int_equal(rp_reports_append(&s, &r, &e), 0);
		assert_int_equal(r.seq, (uint64_t)i + 1);
	}
	assert_int_equal(rp_reports_read(&s, &all, &n, &e), 0);
	assert_int_equal(n, 16); /* bounded: the oldest were overwritten */
	assert_int_equal(all[0].seq, 25);
	assert_int_equal(all[15].seq, 40);
	assert_int_equal(all[15].status, 39);
	free(all);
	rp_reports_close(&s);
	/* Numbering resumes after reopening; the size on disk wins. */
	assert_int_equal(rp_reports_open(p, 1024, &s, &e), 0);
	assert_int_equal(s.nslots, 16);
	assert_int_equal(s.next_seq, 41);
	rp_reports_close(&s);
	rp_reports_close(&s); /* twice is fine */
}

static void test_torn_record(void **state)
{
	struct rp_reports s;
	struct rp_report r, *all = NULL;
	struct rp_err e;
	char p[128];
	size_t n;
	int fd, i;

	path(state, p, sizeof(p), "torn.log");
	assert_int_equal(rp_reports_open(p, 8, &s, &e), 0);
	for (i = 0; i < 3; i++) {
		mk(&r, RP_EXIT_CODE, i, 5);
		assert_int_equal(rp_reports_append(&s, &r, &e), 0);
	}
	rp_reports_close(&s);
	/* Half of the last record was written when the power went. */
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "torn torn torn t", 16,
				2 * RP_REPORT_LEN + 100), 16);
	close(fd);
	assert_int_equal(rp_reports_open(p, 8, &s, &e), 0);
	assert_int_equal(s.next_seq, 3); /* the torn one is ignored */
	assert_int_equal(rp_reports_read(&s, &all, &n, &e), 0);
	assert_int_equal(n, 2);
	free(all);
	mk(&r, RP_EXIT_CODE, 77, 6);
	assert_int_equal(rp_reports_append(&s, &r, &e), 0);
	assert_int_equal(r.seq, 3);
	assert_int_equal(rp_reports_read(&s, &all, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(all[2].status, 77);
	free(all);
	rp_reports_close(&s);
	/* A file that is not a whole number of records is refused. */
	fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(rp_reports_open(p, 8, &s, &e), RP_EFORMAT);
	assert_int_equal(s.fd, -1);
}

static void test_aggregate(void **state)
{
	struct rp_report r[6];
	struct rp_report_agg *rows = NULL;
	struct rp_err e;
	size_t n;

	(void)state;
	mk(&r[0], RP_EXIT_CODE, 1, 100);
	mk(&r[1], RP_EXIT_SIGNAL, 11, 110);
	mk(&r[2], RP_EXIT_CODE, 1, 120);
	r[2].restarts = 5; /* restarts do not split a group */
	mk(&r[3], RP_EXIT_CODE, 1, 130);
	mk(&r[4], RP_EXIT_SIGNAL, 15, 140);
	r[4].type = RP_EVENT_PLANNED;
	mk(&r[5], RP_EXIT_START, 0, 150);
	memcpy(r[5].detail, "no, \"such\"; thing", 18);
	assert_int_equal(rp_reports_aggregate(r, 6, &rows, &n, &e), 0);
	assert_int_equal(n, 4);
	/* Newest last-time first. */
	assert_string_equal(rows[0].event_type, "Unplanned");
	assert_non_null(strstr(rows[0].description, "AppStartFailed: no_ _such__ thing"));
	assert_string_equal(rows[1].event_type, "Planned");
	assert_non_null(strstr(rows[1].description, "AppStop: signal=15 (SIGTERM)"));
	assert_int_equal(rows[2].count, 3);
	assert_int_equal(rows[2].start, 100);
	assert_int_equal(rows[2].end, 130);
	assert_string_equal(rows[2].event_class, "Application");
	assert_string_equal(rows[2].description, "AppExit: exit_code=1; component_id="
			    ID "; name=hello; image_version=1.2.3");
	assert_non_null(strstr(rows[3].description, "AppCrash: signal=11 (SIGSEGV)"));
	free(rows);
	assert_int_equal(rp_reports_aggregate(r, 0, &rows, &n, &e), 0);
	assert_int_equal(n, 0);
	free(rows);
}

static void test_time_iso(void **state)
{
	char b[32];

	(void)state;
	rp_time_iso(0, b, sizeof(b));
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	rp_time_iso(1700000000, b, sizeof(b));
	assert_string_equal(b, "2023-11-14T22:13:20Z");
}

static void test_logring(void **state)
{
	struct rp_logring l;
	struct rp_buf b;
	struct rp_err e;
	char p[128], line[32];
	int i;

	path(state, p, sizeof(p), "app.log");
	assert_int_equal(rp_logring_open(p, 256, &l, &e), 0);
	assert_int_equal(rp_logring_read(&l, &b, &e), 0);
	assert_int_equal(b.len, 0);
	rp_buf_free(&b);
	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line %03d\n", i);
		assert_int_equal(rp_logring_append(&l, line, strlen(line), &e), 0);
	}
	rp_logring_close(&l);
	/* Persisted across reopen; only the last 256 bytes are kept. */
	assert_int_equal(rp_logring_open(p, 256, &l, &e), 0);
	assert_int_equal(rp_logring_read(&l, &b, &e), 0);
	assert_int_equal(b.len, 256);
	assert_memory_equal(b.data + 256 - 9, "line 099\n", 9);
	assert_int_equal(rp_log_tail(b.data, b.len, 2), 256 - 18);
	rp_buf_free(&b);
	/* A write larger than the ring keeps its tail. */
	{
		char big[1000];

		memset(big, 'a', sizeof(big));
		big[999] = 'z';
		assert_int_equal(rp_logring_append(&l, big, sizeof(big), &e), 0);
		assert_int_equal(rp_logring_read(&l, &b, &e), 0);
		assert_int_equal(b.len, 256);
		assert_int_equal(b.data[255], 'z');
		rp_buf_free(&b);
	}
	rp_logring_close(&l);
	/* Another capacity resets it; a corrupt header resets it. */
	assert_int_equal(rp_logring_open(p, 512, &l, &e), 0);
	assert_int_equal(l.head, 0);
	rp_logring_close(&l);
	assert_int_equal(rp_logring_open(p, 100, &l, &e), RP_ERANGE);
}

static void test_log_tail(void **state)
{
	const uint8_t *t = (const uint8_t *)"a\nb\nc\n";

	(void)state;
	assert_int_equal(rp_log_tail(t, 6, 1), 4);
	assert_int_equal(rp_log_tail(t, 6, 3), 0);
	assert_int_equal(rp_log_tail(t, 6, 10), 0);
	assert_int_equal(rp_log_tail(t, 5, 1), 4); /* "c" without newline */
	assert_int_equal(rp_log_tail(t, 0, 1), 0);
}

static void test_app_state(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"uid\":0,\"enabled\":true}", "{\"uid\":1,\"enabled\":1}",
		"{\"uid\":1,\"enabled\":true,\"x\":1}", "[]", "{\"uid\":-5,\"enabled\":true}",
	};
	struct rp_app_state st, back;
	struct rp_buf b;
	struct rp_err e;
	size_t i;

	(void)state;
	st.uid = 200001;
	st.enabled = 1;
	assert_int_equal(rp_app_state_encode(&st, &b, &e), 0);
	assert_int_equal(rp_app_state_decode(b.data, b.len, &back, &e), 0);
	assert_int_equal(back.uid, 200001);
	assert_int_equal(back.enabled, 1);
	rp_buf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(rp_app_state_decode((const uint8_t *)bad[i], strlen(bad[i]),
						&back, &e) < 0);
}

static void test_uid_alloc(void **state)
{
	uint32_t used[] = { 200000, 200002, 200001 }, u;
	struct rp_err e;

	(void)state;
	assert_int_equal(rp_uid_alloc(used, 3, 200000, 10, &u, &e), 0);
	assert_int_equal(u, 200003);
	assert_int_equal(rp_uid_alloc(used, 0, 200000, 10, &u, &e), 0);
	assert_int_equal(u, 200000);
	assert_int_equal(rp_uid_alloc(used, 3, 200000, 3, &u, &e), RP_ERANGE);
	assert_int_equal(rp_uid_alloc(used, 3, UINT32_MAX - 1, 5, &u, &e), RP_ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_torn_record),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_time_iso),
		cmocka_unit_test(test_logring),
		cmocka_unit_test(test_log_tail),
		cmocka_unit_test(test_app_state),
		cmocka_unit_test(test_uid_alloc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
