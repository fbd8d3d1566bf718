/* The peripheral handle protocol ("rpph"): what travels on a peripheral
 * descriptor that is a socket rather than a kernel device.
 *
 * rampartd hands an app one descriptor per opened peripheral. On a real
 * board most are kernel objects (a GPIO line request, /dev/i2c-N,
 * /dev/spidevB.C, a tty). Two kinds are sockets speaking this protocol:
 *   - peripherals of the simulated board, served by rampart-sim (the
 *     kernel here has no gpio-sim or i2c-stub; see docs/sim.md);
 *   - sysfs PWM and IIO ADC, which only root may write: rampartd serves
 *     those itself, one socketpair per handle, writing the sysfs files.
 * A handle is scoped when it is made (OPEN, sent by rampartd before the
 * app ever sees the descriptor): a GPIO handle is one line, an I2C handle
 * one bus. The app cannot widen it: OPEN on an open handle is refused.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET, one message per datagram, one reply
 * per request, in order. Layout (little-endian):
 *   0  u16 op       request op, or op | RP_PH_REPLY in a reply
 *   2  u16 status   0 in requests; in replies 0 or a positive errno
 *   4  u32 a        op argument (see below)
 *   8  u32 b        op argument / reply value
 *  12  u32 len      bytes of data that follow; header + len == datagram
 *  16  data[len]    len <= RP_PH_DATA_MAX
 * docs/formats/peripheral-protocol.md is the specification. */
#ifndef RP_PERIPH_H
#define RP_PERIPH_H

#include <stddef.h>
#include <stdint.h>

#define RP_PH_HDR 16
#define RP_PH_DATA_MAX 4096
#define RP_PH_MSG_MAX (RP_PH_HDR + RP_PH_DATA_MAX)
#define RP_PH_REPLY 0x8000u

enum rp_ph_op {
	/* Scope a fresh handle (sent by rampartd only). a = kind.
	 * GPIO: b = line; data = u32 flags, u32 initial value (8 bytes).
	 * I2C, SPI, PWM, ADC: b = 0, no data. */
	RP_PH_OPEN = 1,
	RP_PH_GPIO_GET = 2,    /* reply b = 0 or 1 */
	RP_PH_GPIO_SET = 3,    /* a = 0 or 1; output handles only (EPERM) */
	/* a = 7-bit address, b = bytes to read after writing data (0..4096);
	 * len = bytes to write (0..4096); a and b not both zero-length.
	 * Reply data = the b bytes read. No device: ENXIO. */
	RP_PH_I2C_XFER = 4,
	RP_PH_I2C_CONFIG = 5,  /* a = RP_PH_CFG_*, b = value */
	/* a = chip select; data = segments, each: u8 dir (RP_PH_SPI_WRITE or
	 * RP_PH_SPI_READ), u8 0, u16 length (1..4096), then length bytes
	 * for a write. Chip select is held across all segments. Reply data =
	 * the bytes of every read segment, in order. */
	RP_PH_SPI_XFER = 6,
	RP_PH_SPI_CONFIG = 7,  /* a = RP_PH_CFG_*, b = value */
	/* a = channel; data = u32 period_ns, u32 duty_ns, u32 polarity
	 * (0 normal, 1 inversed), u32 enabled (0/1): 16 bytes. */
	RP_PH_PWM_APPLY = 8,
	RP_PH_ADC_POLL = 9,    /* a = channel; reply b = raw sample */
	RP_PH_ADC_BITS = 10,   /* a = channel; reply b = sample bits */
	RP_PH_ADC_REF = 11,    /* a = channel, b = reference in millivolts */
};

enum rp_ph_kind {
	RP_PH_KIND_GPIO = 1,
	RP_PH_KIND_I2C = 2,
	RP_PH_KIND_SPI = 3,
	RP_PH_KIND_PWM = 4,
	RP_PH_KIND_ADC = 5,
};

/* RP_PH_OPEN GPIO flags. */
#define RP_PH_GPIO_OUTPUT 0x1u      /* else input */
#define RP_PH_GPIO_OPEN_DRAIN 0x2u  /* output modes; none = push-pull */
#define RP_PH_GPIO_OPEN_SOURCE 0x4u
#define RP_PH_GPIO_FLAGS_ALL 0x7u

/* *_CONFIG selectors. */
#define RP_PH_CFG_SPEED_HZ 1   /* I2C, SPI */
#define RP_PH_CFG_TIMEOUT_MS 2 /* I2C */
#define RP_PH_CFG_MODE 3       /* SPI: 0..3 */
#define RP_PH_CFG_BIT_ORDER 4  /* SPI: 0 MSB first, 1 LSB first */

#define RP_PH_SPI_WRITE 1
#define RP_PH_SPI_READ 2
#define RP_PH_SPI_SEGS_MAX 64

struct rp_ph_msg {
	uint16_t op;
	uint16_t status;
	uint32_t a, b;
	uint32_t len;
	const uint8_t *data; /* len bytes; in a decoded message, points into
				the buffer that was decoded */
};

/* Encode m into out (cap bytes). Returns the datagram length, or 0 when
 * m->len > RP_PH_DATA_MAX or it does not fit. */
size_t rp_ph_encode(const struct rp_ph_msg *m, uint8_t *out, size_t cap);

/* Decode one datagram of n bytes: the header, len == n - 16, len <=
 * RP_PH_DATA_MAX. Structure only. Returns 0 or -EBADMSG. */
int rp_ph_decode(const uint8_t *buf, size_t n, struct rp_ph_msg *m);

/* Check a decoded request against its op's rules above (known op, not a
 * reply, status 0, argument ranges, data length, SPI segments well
 * formed and within RP_PH_SPI_SEGS_MAX, total reads <= RP_PH_DATA_MAX).
 * Returns 0, -EBADMSG for a malformed request, -EOPNOTSUPP for an
 * unknown op. A server checks every request before acting on it. */
int rp_ph_check_request(const struct rp_ph_msg *m);

/* Walk SPI segments (already checked): *off starts at 0. Returns 1 with
 * one segment (dir, len, data for writes or NULL), 0 at the end. */
int rp_ph_spi_next(const struct rp_ph_msg *m, size_t *off, uint8_t *dir,
		   uint16_t *len, const uint8_t **data);

/* Total bytes the SPI segments read (checked request). */
size_t rp_ph_spi_read_len(const struct rp_ph_msg *m);

/* Client side: send req on a SEQPACKET socket and wait up to timeout_ms
 * (-1: forever) for its reply into buf (RP_PH_MSG_MAX bytes). Returns 0
 * with *rep decoded (rep->status may be an errno), or -errno for a
 * transport failure (-EPROTO for a reply to another op, -ETIMEDOUT). */
int rp_ph_call(int fd, const struct rp_ph_msg *req, struct rp_ph_msg *rep,
	       uint8_t *buf, int timeout_ms);

/* Server side: send a reply to op with status (errno or 0), value b and
 * data. Returns 0 or -errno. */
int rp_ph_reply(int fd, uint16_t op, uint16_t status, uint32_t b,
		const uint8_t *data, uint32_t len);

const char *rp_ph_op_name(uint16_t op);

#endif
