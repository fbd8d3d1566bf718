/* Unit tests for lib/periph (the rpph protocol): encode/decode of every op,
 * the request checks and their refusals (truncated, length mismatch,
 * oversize, bad flags, broken SPI segments), the SPI segment walk, and
 * rp_ph_call/rp_ph_reply over a real SEQPACKET socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "periph/periph.h"

static uint8_t buf[RP_PH_MSG_MAX + 64];

static struct rp_ph_msg req(uint16_t op, uint32_t a, uint32_t b,
			    const uint8_t *data, uint32_t len)
{
	struct rp_ph_msg m = { .op = op, .a = a, .b = b, .len = len, .data = data };

	return m;
}

/* Encode, decode, check: returns the check's result. */
static int roundtrip(const struct rp_ph_msg *m)
{
	struct rp_ph_msg d;
	size_t n = rp_ph_encode(m, buf, sizeof(buf));

	assert_int_equal(n, RP_PH_HDR + m->len);
	assert_int_equal(rp_ph_decode(buf, n, &d), 0);
	assert_int_equal(d.op, m->op);
	assert_int_equal(d.status, m->status);
	assert_int_equal(d.a, m->a);
	assert_int_equal(d.b, m->b);
	assert_int_equal(d.len, m->len);
	if (m->len)
		assert_memory_equal(d.data, m->data, m->len);
	else
		assert_null(d.data);
	return rp_ph_check_request(&d);
}

static void gpio_open_data(uint8_t d[8], uint32_t flags, uint32_t value)
{
	rp_enc32le(d, flags);
	rp_enc32le(d + 4, value);
}

static void pwm_data(uint8_t d[16], uint32_t period, uint32_t duty,
		     uint32_t pol, uint32_t en)
{
	rp_enc32le(d, period);
	rp_enc32le(d + 4, duty);
	rp_enc32le(d + 8, pol);
	rp_enc32le(d + 12, en);
}

/* Append one SPI segment; returns the new length. */
static size_t seg(uint8_t *d, size_t off, uint8_t dir, uint16_t len,
		  const uint8_t *w)
{
	d[off] = dir;
	d[off + 1] = 0;
	rp_enc16le(d + off + 2, len);
	off += 4;
	if (dir == RP_PH_SPI_WRITE && w) {
		memcpy(d + off, w, len);
		off += len;
	}
	return off;
}

static void test_every_op_roundtrips(void **state)
{
	uint8_t g[8], p[16], s[64];
	struct rp_ph_msg m;
	size_t n;
	uint32_t k;

	(void)state;
	gpio_open_data(g, RP_PH_GPIO_OUTPUT | RP_PH_GPIO_OPEN_DRAIN, 1);
	m = req(RP_PH_OPEN, RP_PH_KIND_GPIO, 4095, g, 8);
	assert_int_equal(roundtrip(&m), 0);
	gpio_open_data(g, 0, 0);
	m = req(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, g, 8);
	assert_int_equal(roundtrip(&m), 0);
	for (k = RP_PH_KIND_I2C; k <= RP_PH_KIND_ADC; k++) {
		m = req(RP_PH_OPEN, k, 0, NULL, 0);
		assert_int_equal(roundtrip(&m), 0);
	}
	m = req(RP_PH_GPIO_GET, 0, 0, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_GPIO_SET, 1, 0, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_GPIO_SET, 0, 0, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_I2C_XFER, 0x61, 18, (const uint8_t *)"\x03\x00", 2);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_I2C_XFER, 0x7f, RP_PH_DATA_MAX, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_I2C_CONFIG, RP_PH_CFG_SPEED_HZ, 400000, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_I2C_CONFIG, RP_PH_CFG_TIMEOUT_MS, 100, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	n = seg(s, 0, RP_PH_SPI_WRITE, 3, (const uint8_t *)"abc");
	n = seg(s, n, RP_PH_SPI_READ, 5, NULL);
	m = req(RP_PH_SPI_XFER, 0, 0, s, (uint32_t)n);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_SPI_CONFIG, RP_PH_CFG_SPEED_HZ, 1000000, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_SPI_CONFIG, RP_PH_CFG_MODE, 3, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_SPI_CONFIG, RP_PH_CFG_BIT_ORDER, 1, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	pwm_data(p, 1000000, 1000000, 1, 1);
	m = req(RP_PH_PWM_APPLY, 1023, 0, p, 16);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_ADC_POLL, 3, 0, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_ADC_BITS, 0, 0, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	m = req(RP_PH_ADC_REF, 0, 3300, NULL, 0);
	assert_int_equal(roundtrip(&m), 0);
	/* A reply encodes and decodes too, but is no request. */
	m = req(RP_PH_GPIO_GET | RP_PH_REPLY, 0, 1, NULL, 0);
	m.status = EPERM;
	assert_int_equal(roundtrip(&m), -EBADMSG);
}

static void test_encode_limits(void **state)
{
	static uint8_t big[RP_PH_DATA_MAX + 1];
	struct rp_ph_msg m = req(RP_PH_I2C_XFER, 0x61, 0, big, RP_PH_DATA_MAX);
	uint8_t small[RP_PH_HDR + 1];

	(void)state;
	assert_int_equal(rp_ph_encode(&m, buf, sizeof(buf)), RP_PH_MSG_MAX);
	m.len = RP_PH_DATA_MAX + 1;
	assert_int_equal(rp_ph_encode(&m, buf, sizeof(buf)), 0);
	m.len = 2;
	assert_int_equal(rp_ph_encode(&m, small, sizeof(small)), 0);
	m.len = 1;
	assert_int_equal(rp_ph_encode(&m, small, sizeof(small)), RP_PH_HDR + 1);
	m.data = NULL; /* len without data */
	assert_int_equal(rp_ph_encode(&m, buf, sizeof(buf)), 0);
}

static void test_decode_malformed(void **state)
{
	struct rp_ph_msg m = req(RP_PH_I2C_XFER, 0x61, 3, (const uint8_t *)"\xd1\x00", 2), d;
	size_t n = rp_ph_encode(&m, buf, sizeof(buf)), i;

	(void)state;
	/* Truncated: every length below the header and below len. */
	for (i = 0; i < n; i++)
		assert_int_equal(rp_ph_decode(buf, i, &d), -EBADMSG);
	assert_int_equal(rp_ph_decode(buf, n, &d), 0);
	/* Longer than len says. */
	assert_int_equal(rp_ph_decode(buf, n + 1, &d), -EBADMSG);
	/* len field against the datagram length. */
	rp_enc32le(buf + 12, 3);
	assert_int_equal(rp_ph_decode(buf, n, &d), -EBADMSG);
	rp_enc32le(buf + 12, 1);
	assert_int_equal(rp_ph_decode(buf, n, &d), -EBADMSG);
	rp_enc32le(buf + 12, 0xFFFFFFFFu);
	assert_int_equal(rp_ph_decode(buf, n, &d), -EBADMSG);
	/* Oversize datagram, even with a matching len. */
	memset(buf, 0, sizeof(buf));
	rp_enc16le(buf, RP_PH_I2C_XFER);
	rp_enc32le(buf + 12, RP_PH_DATA_MAX + 1);
	assert_int_equal(rp_ph_decode(buf, RP_PH_MSG_MAX + 1, &d), -EBADMSG);
	/* A decoded header stays zeroed on failure. */
	assert_int_equal(d.op, 0);
	assert_null(d.data);
}

static int check(uint16_t op, uint32_t a, uint32_t b, const uint8_t *data,
		 uint32_t len)
{
	struct rp_ph_msg m = req(op, a, b, data, len);

	return rp_ph_check_request(&m);
}

static void test_check_refusals(void **state)
{
	uint8_t g[8], p[16], x[20] = { 0 };
	struct rp_ph_msg m;

	(void)state;
	/* unknown ops, replies, status */
	assert_int_equal(check(0, 0, 0, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(check(12, 0, 0, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(check(0x7fff, 0, 0, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(check(RP_PH_REPLY | RP_PH_GPIO_GET, 0, 0, NULL, 0), -EBADMSG);
	m = req(RP_PH_GPIO_GET, 0, 0, NULL, 0);
	m.status = 1;
	assert_int_equal(rp_ph_check_request(&m), -EBADMSG);
	/* OPEN */
	gpio_open_data(g, RP_PH_GPIO_OUTPUT, 0);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 4096, g, 8), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, g, 7), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, x, 9), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, NULL, 0), -EBADMSG);
	gpio_open_data(g, 0x8, 0);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, g, 8), -EBADMSG);
	gpio_open_data(g, 0x80000000u, 0);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, g, 8), -EBADMSG);
	gpio_open_data(g, RP_PH_GPIO_OUTPUT, 2);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_GPIO, 0, g, 8), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, 0, 0, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, 6, 0, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_I2C, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_OPEN, RP_PH_KIND_SPI, 0, x, 1), -EBADMSG);
	/* GPIO */
	assert_int_equal(check(RP_PH_GPIO_GET, 1, 0, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_GPIO_GET, 0, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_GPIO_GET, 0, 0, x, 1), -EBADMSG);
	assert_int_equal(check(RP_PH_GPIO_SET, 2, 0, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_GPIO_SET, 1, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_GPIO_SET, 1, 0, x, 4), -EBADMSG);
	/* I2C */
	assert_int_equal(check(RP_PH_I2C_XFER, 0x80, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_I2C_XFER, 0x61, RP_PH_DATA_MAX + 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_I2C_XFER, 0x61, 0, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_I2C_CONFIG, 0, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_I2C_CONFIG, RP_PH_CFG_MODE, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_I2C_CONFIG, RP_PH_CFG_SPEED_HZ, 1, x, 1), -EBADMSG);
	/* SPI config */
	assert_int_equal(check(RP_PH_SPI_CONFIG, RP_PH_CFG_MODE, 4, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_SPI_CONFIG, RP_PH_CFG_BIT_ORDER, 2, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_SPI_CONFIG, RP_PH_CFG_TIMEOUT_MS, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_SPI_CONFIG, RP_PH_CFG_SPEED_HZ, 1, x, 2), -EBADMSG);
	/* PWM */
	pwm_data(p, 100, 50, 0, 1);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, p, 16), 0);
	assert_int_equal(check(RP_PH_PWM_APPLY, 1024, 0, p, 16), -EBADMSG);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 1, p, 16), -EBADMSG);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, p, 15), -EBADMSG);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, x, 17), -EBADMSG);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, NULL, 0), -EBADMSG);
	pwm_data(p, 100, 101, 0, 1);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, p, 16), -EBADMSG);
	pwm_data(p, 100, 50, 2, 1);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, p, 16), -EBADMSG);
	pwm_data(p, 100, 50, 0, 2);
	assert_int_equal(check(RP_PH_PWM_APPLY, 0, 0, p, 16), -EBADMSG);
	/* ADC */
	assert_int_equal(check(RP_PH_ADC_POLL, 1024, 0, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_ADC_POLL, 0, 1, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_ADC_BITS, 0, 0, x, 1), -EBADMSG);
	assert_int_equal(check(RP_PH_ADC_REF, 1024, 3300, NULL, 0), -EBADMSG);
	assert_int_equal(check(RP_PH_ADC_REF, 0, 3300, x, 1), -EBADMSG);
}

static void test_spi_segments(void **state)
{
	static uint8_t d[RP_PH_DATA_MAX];
	uint8_t w[4] = { 1, 2, 3, 4 };
	const uint8_t *data;
	uint16_t len;
	uint8_t dir;
	size_t n, off, i;

	(void)state;
	/* empty, a, b */
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, NULL, 0), -EBADMSG);
	n = seg(d, 0, RP_PH_SPI_READ, 1, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 256, 0, d, (uint32_t)n), -EBADMSG);
	assert_int_equal(check(RP_PH_SPI_XFER, 255, 0, d, (uint32_t)n), 0);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 1, d, (uint32_t)n), -EBADMSG);
	/* a truncated segment header */
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, 3), -EBADMSG);
	n = seg(d, 0, RP_PH_SPI_WRITE, 4, w);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n + 2), -EBADMSG);
	/* a write longer than what follows */
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n - 1), -EBADMSG);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), 0);
	/* bad direction, reserved byte, zero and oversize lengths */
	d[0] = 0;
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
	d[0] = 3;
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
	d[0] = RP_PH_SPI_WRITE;
	d[1] = 1;
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
	n = seg(d, 0, RP_PH_SPI_READ, 0, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
	n = seg(d, 0, RP_PH_SPI_READ, RP_PH_DATA_MAX + 1, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
	/* reads: 4096 in all is fine, 4097 is not */
	n = seg(d, 0, RP_PH_SPI_READ, RP_PH_DATA_MAX, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), 0);
	n = seg(d, 0, RP_PH_SPI_READ, 4000, NULL);
	n = seg(d, n, RP_PH_SPI_READ, 96, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), 0);
	n = seg(d, n, RP_PH_SPI_READ, 1, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
	/* 64 segments are fine, 65 are not */
	for (n = 0, i = 0; i < RP_PH_SPI_SEGS_MAX; i++)
		n = seg(d, n, i % 2 ? RP_PH_SPI_READ : RP_PH_SPI_WRITE, 2, w);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), 0);
	{
		struct rp_ph_msg m = req(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n);

		assert_int_equal(rp_ph_spi_read_len(&m), 64);
		for (off = 0, i = 0; rp_ph_spi_next(&m, &off, &dir, &len, &data); i++) {
			assert_int_equal(dir, i % 2 ? RP_PH_SPI_READ : RP_PH_SPI_WRITE);
			assert_int_equal(len, 2);
			if (dir == RP_PH_SPI_WRITE)
				assert_memory_equal(data, w, 2);
			else
				assert_null(data);
		}
		assert_int_equal(i, RP_PH_SPI_SEGS_MAX);
		assert_int_equal(off, n);
	}
	n = seg(d, n, RP_PH_SPI_READ, 1, NULL);
	assert_int_equal(check(RP_PH_SPI_XFER, 0, 0, d, (uint32_t)n), -EBADMSG);
}

static int sockpair(int sp[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
}

static void test_call_and_reply(void **state)
{
	static uint8_t rbuf[RP_PH_MSG_MAX];
	struct rp_ph_msg m = req(RP_PH_GPIO_GET, 0, 0, NULL, 0), rep, got;
	int sp[2];
	ssize_t r;

	(void)state;
	assert_int_equal(sockpair(sp), 0);
	/* The server answers before the call: the reply waits in the socket. */
	assert_int_equal(rp_ph_reply(sp[1], RP_PH_GPIO_GET, 0, 1, NULL, 0), 0);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 1000), 0);
	assert_int_equal(rep.op, RP_PH_GPIO_GET | RP_PH_REPLY);
	assert_int_equal(rep.b, 1);
	r = recv(sp[1], buf, sizeof(buf), 0);
	assert_int_equal(r, RP_PH_HDR);
	assert_int_equal(rp_ph_decode(buf, (size_t)r, &got), 0);
	assert_int_equal(rp_ph_check_request(&got), 0);
	/* Data and an errno come back. */
	assert_int_equal(rp_ph_reply(sp[1], RP_PH_I2C_XFER, 0, 0, (const uint8_t *)"\x03\x42\xf3", 3), 0);
	m = req(RP_PH_I2C_XFER, 0x61, 3, (const uint8_t *)"\xd1\x00", 2);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 1000), 0);
	assert_int_equal(rep.len, 3);
	assert_memory_equal(rep.data, "\x03\x42\xf3", 3);
	assert_int_equal(recv(sp[1], buf, sizeof(buf), 0), RP_PH_HDR + 2);
	assert_int_equal(rp_ph_reply(sp[1], RP_PH_GPIO_SET, EPERM, 0, NULL, 0), 0);
	m = req(RP_PH_GPIO_SET, 1, 0, NULL, 0);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 1000), 0);
	assert_int_equal(rep.status, EPERM);
	(void)recv(sp[1], buf, sizeof(buf), 0);
	/* A reply to another op. */
	assert_int_equal(rp_ph_reply(sp[1], RP_PH_GPIO_SET, 0, 0, NULL, 0), 0);
	m = req(RP_PH_GPIO_GET, 0, 0, NULL, 0);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 1000), -EPROTO);
	(void)recv(sp[1], buf, sizeof(buf), 0);
	/* Garbage and an oversize datagram. */
	assert_int_equal(send(sp[1], "xyz", 3, 0), 3);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 1000), -EPROTO);
	(void)recv(sp[1], buf, sizeof(buf), 0);
	memset(buf, 0, sizeof(buf));
	rp_enc16le(buf, RP_PH_GPIO_GET | RP_PH_REPLY);
	rp_enc32le(buf + 12, RP_PH_DATA_MAX + 1);
	assert_int_equal(send(sp[1], buf, RP_PH_MSG_MAX + 1, 0), RP_PH_MSG_MAX + 1);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 1000), -EPROTO);
	(void)recv(sp[1], buf, sizeof(buf), 0);
	/* No answer, then the peer goes. */
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 50), -ETIMEDOUT);
	(void)recv(sp[1], buf, sizeof(buf), 0);
	/* A request too big to encode. */
	m = req(RP_PH_I2C_XFER, 0x61, 0, buf, RP_PH_DATA_MAX + 1);
	assert_int_equal(rp_ph_call(sp[0], &m, &rep, rbuf, 50), -EMSGSIZE);
	assert_int_equal(rp_ph_reply(sp[1], RP_PH_I2C_XFER, 0, 0, buf, RP_PH_DATA_MAX + 1), -EMSGSIZE);
	close(sp[1]);
	m = req(RP_PH_GPIO_GET, 0, 0, NULL, 0);
	r = rp_ph_call(sp[0], &m, &rep, rbuf, 1000);
	assert_true(r == -ECONNRESET || r == -EPIPE);
	close(sp[0]);
}

static void test_op_names(void **state)
{
	(void)state;
	assert_string_equal(rp_ph_op_name(RP_PH_OPEN), "open");
	assert_string_equal(rp_ph_op_name(RP_PH_SPI_XFER | RP_PH_REPLY), "spi-xfer");
	assert_string_equal(rp_ph_op_name(RP_PH_ADC_REF), "adc-ref");
	assert_string_equal(rp_ph_op_name(0), "unknown");
	assert_string_equal(rp_ph_op_name(12), "unknown");
	assert_string_equal(rp_ph_op_name(0xffff), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_roundtrips),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_check_refusals),
		cmocka_unit_test(test_spi_segments),
		cmocka_unit_test(test_call_and_reply),
		cmocka_unit_test(test_op_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
