/* Unit tests for lib/ctl: request and response encoding, strict decoding,
 * the app channel messages, and descriptor passing over a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl/appreq.h"
#include "ctl/ctl.h"
#include "format/manifest.h"

#define ID "3f9b2c1e-6a47-4d2b-9e35-0c8a1f7d5e42"

static int decode(const char *s, struct rp_ctl_req *r, struct rp_err *e)
{
	rp_err_clear(e);
	return rp_ctl_req_decode((const uint8_t *)s, strlen(s), r, e);
}

static void test_roundtrip(void **state)
{
	static const enum rp_ctl_op ops[] = {
		RP_CTL_SHOW, RP_CTL_ENABLE_DEV, RP_CTL_ENABLE_CLOUD_TEST,
		RP_CTL_DEPLOY, RP_CTL_DELETE, RP_CTL_APP_LIST, RP_CTL_APP_STATUS,
		RP_CTL_APP_START, RP_CTL_APP_STOP, RP_CTL_APP_LOGS,
		RP_CTL_ERROR_REPORT,
	};
	struct rp_ctl_req r, back;
	struct rp_buf b;
	struct rp_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		rp_ctl_req_init(&r, ops[i]);
		if (ops[i] == RP_CTL_DELETE)
			r.all = 1;
		if (ops[i] == RP_CTL_APP_LOGS)
			r.lines = 7;
		if (ops[i] == RP_CTL_ENABLE_DEV)
			memcpy(r.trust_key, "PEM", 4);
		assert_int_equal(rp_ctl_req_encode(&r, &b, &e), 0);
		assert_int_equal(rp_ctl_req_decode(b.data, b.len, &back, &e), 0);
		assert_int_equal(back.op, ops[i]);
		assert_int_equal(back.all, r.all);
		assert_int_equal(back.lines, r.lines);
		assert_string_equal(back.trust_key, r.trust_key);
		rp_buf_free(&b);
	}
	/* A component id survives, lower-cased. */
	assert_int_equal(decode("{\"v\":1,\"op\":\"app-stop\",\"component_id\":"
				"\"3F9B2C1E-6A47-4D2B-9E35-0C8A1F7D5E42\"}", &r, &e), 0);
	assert_true(r.has_component);
	assert_string_equal(r.component_text, ID);
}

static void test_cloud_requests(void **state)
{
	static const char *const bad[] = {
		/* required keys */
		"{\"v\":1,\"op\":\"cloud-setup\"}",
		"{\"v\":1,\"op\":\"cloud-setup\",\"url\":\"https://x\",\"tenant\":\"t\"}",
		/* types, lengths, keys of another operation */
		"{\"v\":1,\"op\":\"cloud-setup\",\"url\":1,\"tenant\":\"t\",\"server_ca\":\"c\"}",
		"{\"v\":1,\"op\":\"cloud-setup\",\"url\":\"\",\"tenant\":\"t\",\"server_ca\":\"c\"}",
		"{\"v\":1,\"op\":\"cloud-setup\",\"url\":\"u\",\"tenant\":\"0123456789012345678901234567890123456\",\"server_ca\":\"c\"}",
		"{\"v\":1,\"op\":\"cloud-setup\",\"url\":\"u\",\"tenant\":\"t\",\"server_ca\":\"c\",\"lines\":3}",
		"{\"v\":1,\"op\":\"cloud-status\",\"url\":\"u\"}",
		"{\"v\":1,\"op\":\"check-for-updates\",\"enroll_token\":\"x\"}",
		"{\"v\":1,\"op\":\"cloud-setup\",\"url\":\"u\",\"tenant\":\"t\",\"server_ca\":\"c\\u0000d\"}",
	};
	struct rp_ctl_req r, back;
	struct rp_buf b;
	struct rp_err e;
	size_t i;

	(void)state;
	rp_ctl_req_init(&r, RP_CTL_CLOUD_SETUP);
	memcpy(r.url, "https://127.0.0.1:8443", 23);
	memcpy(r.tenant, ID, sizeof(ID));
	memcpy(r.server_ca, "-----BEGIN CERTIFICATE-----\nAA\n", sizeof("-----BEGIN CERTIFICATE-----\nAA\n"));
	assert_int_equal(rp_ctl_req_encode(&r, &b, &e), 0);
	assert_null(strstr((const char *)b.data, "enroll_token"));
	assert_int_equal(rp_ctl_req_decode(b.data, b.len, &back, &e), 0);
	assert_int_equal(back.op, RP_CTL_CLOUD_SETUP);
	assert_string_equal(back.url, r.url);
	assert_string_equal(back.tenant, r.tenant);
	assert_string_equal(back.server_ca, r.server_ca);
	assert_string_equal(back.enroll_token, "");
	rp_buf_free(&b);
	memcpy(r.enroll_token, "rpe_abc", 8);
	assert_int_equal(rp_ctl_req_encode(&r, &b, &e), 0);
	assert_int_equal(rp_ctl_req_decode(b.data, b.len, &back, &e), 0);
	assert_string_equal(back.enroll_token, "rpe_abc");
	rp_buf_free(&b);
	/* The encoder refuses what the decoder would. */
	r.url[0] = '\0';
	assert_int_equal(rp_ctl_req_encode(&r, &b, &e), RP_EUSAGE);
	for (i = 0; i < 2; i++) {
		rp_ctl_req_init(&r, i ? RP_CTL_CHECK_UPDATES : RP_CTL_CLOUD_STATUS);
		assert_int_equal(rp_ctl_req_encode(&r, &b, &e), 0);
		assert_int_equal(rp_ctl_req_decode(b.data, b.len, &back, &e), 0);
		assert_int_equal(back.op, r.op);
		rp_buf_free(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(decode(bad[i], &r, &e), 0);
}

static void test_refusals(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}", "null", "{\"op\":\"show\"}",
		"{\"v\":2,\"op\":\"show\"}",
		"{\"v\":1}",
		"{\"v\":1,\"op\":\"reboot\"}",
		"{\"v\":1,\"op\":5}",
		"{\"v\":1,\"op\":\"show\",\"extra\":1}",
		"{\"v\":1,\"op\":\"show\",\"component_id\":\"" ID "\"}",
		"{\"v\":1,\"op\":\"app-stop\",\"component_id\":\"not-a-guid\"}",
		"{\"v\":1,\"op\":\"app-stop\",\"component_id\":7}",
		"{\"v\":1,\"op\":\"app-logs\",\"lines\":0}",
		"{\"v\":1,\"op\":\"app-logs\",\"lines\":100000}",
		"{\"v\":1,\"op\":\"app-logs\",\"lines\":\"5\"}",
		"{\"v\":1,\"op\":\"sideload-delete\"}",
		"{\"v\":1,\"op\":\"sideload-delete\",\"all\":true,\"component_id\":\"" ID "\"}",
		"{\"v\":1,\"op\":\"sideload-delete\",\"all\":1}",
		"{\"v\":1,\"op\":\"enable-development\",\"trust_key\":\"\"}",
		"{\"v\":1,\"op\":\"show\",\"op\":\"show\"}",
		"{\"v\":1,\"op\":\"show\"} x",
		"{\"v\":1,\"op\":\"show\\u0000\"}",
	};
	struct rp_ctl_req r;
	struct rp_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = decode(bad[i], &r, &e);

		if (rc == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_true(rc < 0);
		assert_non_null(strstr(e.msg, "control request"));
		assert_int_equal(r.op, RP_CTL_SHOW); /* reset on failure */
	}
	/* Oversized input is refused before parsing. */
	{
		size_t n = RP_CTL_REQ_MAX + 1;
		uint8_t *big = malloc(n);

		assert_non_null(big);
		memset(big, ' ', n);
		assert_int_equal(rp_ctl_req_decode(big, n, &r, &e), RP_ERANGE);
		free(big);
	}
	/* The encoder refuses what the decoder would. */
	{
		struct rp_buf b;

		rp_ctl_req_init(&r, RP_CTL_DELETE);
		assert_int_equal(rp_ctl_req_encode(&r, &b, &e), RP_EUSAGE);
		rp_ctl_req_init(&r, RP_CTL_APP_LOGS);
		r.lines = 0;
		assert_int_equal(rp_ctl_req_encode(&r, &b, &e), RP_EUSAGE);
	}
}

static void test_responses(void **state)
{
	struct rp_buf b;
	struct rp_err e, remote, err;
	json_t *res;
	char buf[RP_CTL_ERR_RESP_MAX];
	size_t n, i;

	(void)state;
	assert_int_equal(rp_ctl_resp_ok(json_pack("{s:i}", "apps", 3), &b, &e), 0);
	assert_int_equal(rp_ctl_resp_decode(b.data, b.len, &res, &remote, &e), 0);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "apps")), 3);
	assert_int_equal(remote.code, 0);
	json_decref(res);
	rp_buf_free(&b);

	/* An error with every awkward byte survives as valid JSON. */
	err.code = RP_EPOLICY;
	for (i = 0; i < RP_ERR_MSG_MAX - 1; i++)
		err.msg[i] = (char)(1 + i % 255);
	err.msg[RP_ERR_MSG_MAX - 1] = '\0';
	rp_ctl_resp_err(&err, buf, sizeof(buf), &n);
	assert_int_equal(rp_ctl_resp_decode((uint8_t *)buf, n, &res, &remote, &e), 0);
	assert_null(res);
	assert_int_equal(remote.code, RP_EPOLICY);

	/* Unknown codes are clamped; a positive code is not trusted. */
	{
		const char *t = "{\"v\":1,\"ok\":false,\"code\":5,\"error\":\"x\"}";

		assert_int_equal(rp_ctl_resp_decode((const uint8_t *)t, strlen(t), &res,
						    &remote, &e), 0);
		assert_int_equal(remote.code, RP_EIO);
		assert_string_equal(remote.msg, "x");
	}
	{
		const char *t = "{\"v\":1,\"ok\":true,\"result\":[]}";

		assert_true(rp_ctl_resp_decode((const uint8_t *)t, strlen(t), &res,
					       &remote, &e) < 0);
		t = "{\"v\":1,\"ok\":true,\"result\":{},\"x\":1}";
		assert_true(rp_ctl_resp_decode((const uint8_t *)t, strlen(t), &res,
					       &remote, &e) < 0);
	}
	/* Small buffers truncate but never overflow or produce bad JSON. */
	rp_ctl_resp_err(&err, buf, 40, &n);
	assert_true(n < 40);
	assert_int_equal(buf[n], '\0');
}

static void test_channel(void **state)
{
	uint8_t id[16], back[16];
	char buf[RP_CTL_CHAN_MAX];
	const char *kind;
	struct rp_err e, remote, err;
	size_t n;

	(void)state;
	assert_int_equal(rp_guid_parse(ID, strlen(ID), id), 0);
	assert_int_equal(rp_ctl_chan_encode("connect", id, buf, sizeof(buf), &n, &e), 0);
	assert_int_equal(rp_ctl_chan_decode((uint8_t *)buf, n, back, &e), 0);
	assert_memory_equal(id, back, 16);
	assert_int_equal(rp_ctl_chan_encode("incoming", id, buf, sizeof(buf), &n, &e), 0);
	assert_int_equal(rp_ctl_chan_decode_reply((uint8_t *)buf, n, &kind, back,
						  &remote, &e), 0);
	assert_string_equal(kind, "incoming");
	assert_memory_equal(id, back, 16);
	rp_err_set(&err, RP_EPOLICY, "not \"allowed\"");
	assert_int_equal(rp_ctl_chan_encode_err(&err, buf, sizeof(buf), &n, &e), 0);
	assert_int_equal(rp_ctl_chan_decode_reply((uint8_t *)buf, n, &kind, back,
						  &remote, &e), 0);
	assert_string_equal(kind, "error");
	assert_string_equal(remote.msg, "not \"allowed\"");
	assert_true(rp_ctl_chan_encode("bogus", id, buf, sizeof(buf), &n, &e) < 0);
	{
		static const char *const bad[] = {
			"{}", "{\"connect\":1}", "{\"connect\":\"" ID "\",\"x\":1}",
			"{\"connect\":\"nope\"}", "[]",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_true(rp_ctl_chan_decode((const uint8_t *)bad[i],
						       strlen(bad[i]), back, &e) < 0);
	}
}

static void test_fd_passing(void **state)
{
	int sp[2], fd, got = -1, p[2];
	struct rp_buf b;
	struct rp_err e;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(rp_ctl_send(sp[0], "hi", 2, p[0], &e), 0);
	assert_int_equal(rp_ctl_recv(sp[1], 16, &b, &got, 0, &e), 0);
	assert_int_equal(b.len, 2);
	assert_true(got >= 0);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	rp_buf_free(&b);
	close(got);
	/* A descriptor nobody asked for is closed and refused. */
	assert_int_equal(rp_ctl_send(sp[0], "hi", 2, p[0], &e), 0);
	assert_int_equal(rp_ctl_recv(sp[1], 16, &b, NULL, 0, &e), RP_EFORMAT);
	/* Too long: refused, nothing left behind. */
	assert_int_equal(rp_ctl_send(sp[0], "0123456789abcdefXYZ", 19, p[0], &e), 0);
	assert_int_equal(rp_ctl_recv(sp[1], 16, &b, &got, 0, &e), RP_ERANGE);
	assert_int_equal(got, -1);
	/* Nonblocking with nothing queued. */
	assert_int_equal(rp_ctl_recv(sp[1], 16, &b, &got, 1, &e), -EAGAIN);
	/* End of stream. */
	close(sp[0]);
	assert_int_equal(rp_ctl_recv(sp[1], 16, &b, &got, 0, &e), 1);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
}

static void test_lines(void **state)
{
	struct rp_ctl_lines l;
	struct rp_err e;
	uint8_t out[RP_CTL_CHAN_MAX];
	size_t n;
	int sp[2], p[2], fd;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe(p), 0);
	rp_ctl_lines_init(&l);
	/* Two lines in one write, the second split over two writes. */
	assert_int_equal(write(sp[0], "one\ntw", 6), 6);
	assert_int_equal(rp_ctl_lines_fill(sp[1], &l, 1, 0, &e), 0);
	assert_int_equal(rp_ctl_lines_next(&l, out, sizeof(out), &n, &fd), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "one", 3);
	assert_int_equal(fd, -1);
	assert_int_equal(rp_ctl_lines_next(&l, out, sizeof(out), &n, &fd), 1);
	/* The descriptor belongs to the line its message completes. */
	assert_int_equal(rp_ctl_send(sp[0], "o\n", 2, p[0], &e), 0);
	assert_int_equal(rp_ctl_lines_fill(sp[1], &l, 1, 0, &e), 0);
	assert_int_equal(rp_ctl_lines_next(&l, out, sizeof(out), &n, &fd), 0);
	assert_memory_equal(out, "two", 3);
	assert_true(fd >= 0);
	close(fd);
	/* Refused: a descriptor when none is accepted; an over-long line. */
	assert_int_equal(rp_ctl_send(sp[0], "x\n", 2, p[0], &e), 0);
	assert_int_equal(rp_ctl_lines_fill(sp[1], &l, 0, 0, &e), RP_EFORMAT);
	rp_ctl_lines_init(&l);
	{
		char big[RP_CTL_CHAN_MAX + 10];

		memset(big, 'a', sizeof(big));
		assert_int_equal(write(sp[0], big, sizeof(big)), (ssize_t)sizeof(big));
		assert_int_equal(rp_ctl_lines_fill(sp[1], &l, 1, 0, &e), 0);
		assert_int_equal(rp_ctl_lines_next(&l, out, sizeof(out), &n, &fd), 1);
		assert_int_equal(rp_ctl_lines_fill(sp[1], &l, 1, 0, &e), RP_ERANGE);
	}
	rp_ctl_lines_free(&l);
	close(sp[0]);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
}

static int appreq(const char *s, struct rp_appreq *r)
{
	struct rp_err e;

	return rp_appreq_decode((const uint8_t *)s, strlen(s), r, &e);
}

/* App-socket requests: what decodes, what each field holds, and strict
 * refusals (always -EINVAL for the app). */
static void test_appreq(void **state)
{
	static const char *const good[] = {
		"{\"connect\":\"" ID "\"}",
		"{\"open\":\"Gpio\",\"id\":2,\"direction\":\"output\",\"output_mode\":\"OpenDrain\",\"value\":1}",
		"{\"open\":\"Gpio\",\"id\":0,\"direction\":\"input\"}",
		"{\"open\":\"SpiMaster\",\"id\":0,\"chip_select\":1}",
		"{\"open\":\"Adc\",\"id\":0}",
		"{\"sysevent\":\"register\",\"events\":[\"UpdateReadyForInstall\",\"NoUpdateAvailable\"]}",
		"{\"sysevent\":\"defer\",\"event\":\"UpdateReadyForInstall\",\"minutes\":5}",
		"{\"sysevent\":\"resume\",\"event\":\"UpdateReadyForInstall\"}",
		"{\"sysevent\":\"unregister\"}",
		"{\"power\":\"SetPowerProfile\",\"profile\":\"PowerSaver\"}",
		"{\"deviceauth\":\"status\"}",
		"{\"storage\":\"quota\"}",
	};
	static const char *const bad[] = {
		"", "[]", "{}", "{\"open\":\"Gpio\",\"id\":2}",
		"{\"open\":\"Gpio\",\"id\":2,\"direction\":\"sideways\"}",
		"{\"open\":\"Gpio\",\"id\":2,\"direction\":\"input\",\"value\":0}",
		"{\"open\":\"Gpio\",\"id\":2,\"direction\":\"output\",\"value\":2}",
		"{\"open\":\"Gpio\",\"id\":-1,\"direction\":\"input\"}",
		"{\"open\":\"Gpio\",\"id\":65536,\"direction\":\"input\"}",
		"{\"open\":\"Uart\",\"id\":0,\"chip_select\":0}",
		"{\"open\":\"Spi\",\"id\":0}",
		"{\"open\":\"Adc\",\"id\":\"0\"}",
		"{\"open\":\"Adc\",\"id\":0,\"power\":\"ForceReboot\"}",
		"{\"sysevent\":\"register\",\"events\":[]}",
		"{\"sysevent\":\"register\",\"events\":[\"UpdateStarted\",\"UpdateStarted\"]}",
		"{\"sysevent\":\"defer\",\"event\":\"UpdateReadyForInstall\",\"minutes\":0}",
		"{\"sysevent\":\"defer\",\"event\":\"UpdateReadyForInstall\",\"minutes\":1441}",
		"{\"sysevent\":\"defer\",\"event\":\"UpdateStarted\",\"minutes\":1}",
		"{\"sysevent\":\"resume\"}",
		"{\"power\":\"ForceReboot\",\"profile\":\"Balanced\"}",
		"{\"power\":\"SetPowerProfile\"}",
		"{\"deviceauth\":\"token\"}",
		"{\"storage\":\"quota\",\"x\":1}",
		"{\"connect\":\"" ID "\",\"connect\":\"" ID "\"}",
	};
	struct rp_appreq r, back;
	struct rp_err e;
	char buf[RP_CTL_CHAN_MAX + 1];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(appreq(good[i], &r), 0);
		assert_int_equal(rp_appreq_encode(&r, buf, sizeof(buf), &n, &e), 0);
		assert_int_equal(buf[n - 1], '\n');
		assert_int_equal(rp_appreq_decode((uint8_t *)buf, n - 1, &back, &e), 0);
		assert_memory_equal(&r, &back, sizeof(r));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rp_err_clear(&e);
		assert_int_equal(rp_appreq_decode((const uint8_t *)bad[i], strlen(bad[i]),
						  &r, &e), -EINVAL);
		assert_non_null(strstr(e.msg, "app request"));
	}
	assert_int_equal(appreq(good[1], &r), 0);
	assert_int_equal(r.kind, RP_APPREQ_OPEN);
	assert_int_equal(r.periph, RP_PERIPH_GPIO);
	assert_int_equal(r.id, 2);
	assert_true(r.output);
	assert_int_equal(r.drive, RP_DRIVE_OPEN_DRAIN);
	assert_int_equal(r.value, 1);
	assert_int_equal(appreq(good[5], &r), 0);
	assert_int_equal(r.events, RP_EV_UPDATE_READY | RP_EV_NO_UPDATE);
	assert_int_equal(appreq(good[6], &r), 0);
	assert_int_equal(r.sysev, RP_SYSEV_DEFER);
	assert_int_equal(r.minutes, 5);
	/* An invalid struct is not encoded. */
	memset(&r, 0, sizeof(r));
	r.kind = RP_APPREQ_OPEN;
	assert_int_equal(rp_appreq_encode(&r, buf, sizeof(buf), &n, &e), RP_EUSAGE);
	/* A reply line. */
	assert_int_equal(rp_appreq_reply_encode(json_pack("{s:b}", "resumed", 1), buf,
						sizeof(buf), &n, &e), 0);
	assert_string_equal(buf, "{\"resumed\":true}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_cloud_requests),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_appreq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
