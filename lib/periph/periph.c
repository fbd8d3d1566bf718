/* The peripheral handle protocol: encode, decode, check (periph.h). Pure
 * except rp_ph_call/rp_ph_reply, which do one send and one receive. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "base/bytes.h"
#include "periph/periph.h"

size_t rp_ph_encode(const struct rp_ph_msg *m, uint8_t *out, size_t cap)
{
	size_t n;

	if (m->len > RP_PH_DATA_MAX || (m->len && !m->data))
		return 0;
	n = RP_PH_HDR + (size_t)m->len;
	if (n > cap)
		return 0;
	rp_enc16le(out, m->op);
	rp_enc16le(out + 2, m->status);
	rp_enc32le(out + 4, m->a);
	rp_enc32le(out + 8, m->b);
	rp_enc32le(out + 12, m->len);
	if (m->len)
		memcpy(out + RP_PH_HDR, m->data, m->len);
	return n;
}

int rp_ph_decode(const uint8_t *buf, size_t n, struct rp_ph_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (n < RP_PH_HDR || n > RP_PH_MSG_MAX)
		return -EBADMSG;
	m->op = rp_dec16le(buf);
	m->status = rp_dec16le(buf + 2);
	m->a = rp_dec32le(buf + 4);
	m->b = rp_dec32le(buf + 8);
	m->len = rp_dec32le(buf + 12);
	if ((size_t)m->len != n - RP_PH_HDR)
		return -EBADMSG;
	m->data = m->len ? buf + RP_PH_HDR : NULL;
	return 0;
}

int rp_ph_spi_next(const struct rp_ph_msg *m, size_t *off, uint8_t *dir,
		   uint16_t *len, const uint8_t **data)
{
	size_t o = *off;

	if (o + 4 > m->len)
		return 0;
	*dir = m->data[o];
	*len = rp_dec16le(m->data + o + 2);
	o += 4;
	*data = NULL;
	if (*dir == RP_PH_SPI_WRITE) {
		if (*len > m->len - o)
			return 0;
		*data = m->data + o;
		o += *len;
	}
	*off = o;
	return 1;
}

static int check_spi(const struct rp_ph_msg *m)
{
	size_t o = 0, reads = 0, segs = 0;

	if (m->len == 0)
		return -EBADMSG;
	while (o < m->len) {
		uint8_t dir;
		uint16_t len;

		if (m->len - o < 4)
			return -EBADMSG;
		dir = m->data[o];
		len = rp_dec16le(m->data + o + 2);
		if ((dir != RP_PH_SPI_WRITE && dir != RP_PH_SPI_READ) ||
		    m->data[o + 1] != 0 || len == 0 || len > RP_PH_DATA_MAX ||
		    ++segs > RP_PH_SPI_SEGS_MAX)
			return -EBADMSG;
		o += 4;
		if (dir == RP_PH_SPI_WRITE) {
			if (len > m->len - o)
				return -EBADMSG;
			o += len;
		} else {
			reads += len;
			if (reads > RP_PH_DATA_MAX)
				return -EBADMSG;
		}
	}
	return 0;
}

size_t rp_ph_spi_read_len(const struct rp_ph_msg *m)
{
	size_t o = 0, reads = 0;
	uint8_t dir;
	uint16_t len;
	const uint8_t *d;

	while (rp_ph_spi_next(m, &o, &dir, &len, &d))
		if (dir == RP_PH_SPI_READ)
			reads += len;
	return reads;
}

int rp_ph_check_request(const struct rp_ph_msg *m)
{
	if (m->op & RP_PH_REPLY || m->status != 0)
		return -EBADMSG;
	switch (m->op) {
	case RP_PH_OPEN:
		if (m->a == RP_PH_KIND_GPIO) {
			if (m->len != 8 || m->b > 4095 ||
			    (rp_dec32le(m->data) & ~RP_PH_GPIO_FLAGS_ALL) ||
			    rp_dec32le(m->data + 4) > 1)
				return -EBADMSG;
			return 0;
		}
		if (m->a < RP_PH_KIND_I2C || m->a > RP_PH_KIND_ADC || m->b || m->len)
			return -EBADMSG;
		return 0;
	case RP_PH_GPIO_GET:
		return m->a || m->b || m->len ? -EBADMSG : 0;
	case RP_PH_GPIO_SET:
		return m->a > 1 || m->b || m->len ? -EBADMSG : 0;
	case RP_PH_I2C_XFER:
		if (m->a > 0x7f || m->b > RP_PH_DATA_MAX || (m->b == 0 && m->len == 0))
			return -EBADMSG;
		return 0;
	case RP_PH_I2C_CONFIG:
		if ((m->a != RP_PH_CFG_SPEED_HZ && m->a != RP_PH_CFG_TIMEOUT_MS) || m->len)
			return -EBADMSG;
		return 0;
	case RP_PH_SPI_XFER:
		if (m->a > 255 || m->b)
			return -EBADMSG;
		return check_spi(m);
	case RP_PH_SPI_CONFIG:
		if (m->len || (m->a != RP_PH_CFG_SPEED_HZ && m->a != RP_PH_CFG_MODE &&
			       m->a != RP_PH_CFG_BIT_ORDER) ||
		    (m->a == RP_PH_CFG_MODE && m->b > 3) ||
		    (m->a == RP_PH_CFG_BIT_ORDER && m->b > 1))
			return -EBADMSG;
		return 0;
	case RP_PH_PWM_APPLY:
		if (m->a > 1023 || m->b || m->len != 16 || rp_dec32le(m->data + 8) > 1 ||
		    rp_dec32le(m->data + 12) > 1 ||
		    rp_dec32le(m->data + 4) > rp_dec32le(m->data))
			return -EBADMSG;
		return 0;
	case RP_PH_ADC_POLL:
	case RP_PH_ADC_BITS:
		return m->a > 1023 || m->b || m->len ? -EBADMSG : 0;
	case RP_PH_ADC_REF:
		return m->a > 1023 || m->len ? -EBADMSG : 0;
	default:
		return -EOPNOTSUPP;
	}
}

int rp_ph_call(int fd, const struct rp_ph_msg *req, struct rp_ph_msg *rep,
	       uint8_t *buf, int timeout_ms)
{
	uint8_t out[RP_PH_MSG_MAX];
	size_t n = rp_ph_encode(req, out, sizeof(out));
	ssize_t r;

	if (!n)
		return -EMSGSIZE;
	do
		r = send(fd, out, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r != n)
		return -EMSGSIZE;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, timeout_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			return -ETIMEDOUT;
		r = recv(fd, buf, RP_PH_MSG_MAX, MSG_TRUNC);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		break;
	}
	if ((size_t)r > RP_PH_MSG_MAX || rp_ph_decode(buf, (size_t)r, rep))
		return -EPROTO;
	if (rep->op != (req->op | RP_PH_REPLY))
		return -EPROTO;
	return 0;
}

int rp_ph_reply(int fd, uint16_t op, uint16_t status, uint32_t b,
		const uint8_t *data, uint32_t len)
{
	struct rp_ph_msg m = { .op = (uint16_t)(op | RP_PH_REPLY), .status = status,
			       .b = b, .len = len, .data = data };
	uint8_t out[RP_PH_MSG_MAX];
	size_t n = rp_ph_encode(&m, out, sizeof(out));
	ssize_t r;

	if (!n)
		return -EMSGSIZE;
	do
		r = send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EMSGSIZE;
}

const char *rp_ph_op_name(uint16_t op)
{
	static const char *const names[] = {
		NULL, "open", "gpio-get", "gpio-set", "i2c-xfer", "i2c-config",
		"spi-xfer", "spi-config", "pwm-apply", "adc-poll", "adc-bits",
		"adc-ref",
	};
	op &= (uint16_t)~RP_PH_REPLY;
	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "unknown";
}
