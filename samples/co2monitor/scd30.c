/* See scd30.h. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include <applibs/i2c.h>

#include "scd30.h"

uint8_t scd30_crc8(const uint8_t *data, size_t len)
{
	uint8_t crc = 0xFF;
	size_t i;
	int bit;

	for (i = 0; i < len; i++) {
		crc ^= data[i];
		for (bit = 0; bit < 8; bit++)
			crc = (uint8_t)((crc & 0x80) ? (crc << 1) ^ 0x31 : crc << 1);
	}
	return crc;
}

int scd30_decode_words(const uint8_t *buf, size_t len, uint16_t *words, size_t n)
{
	size_t i;

	if (n > SIZE_MAX / 3 || len != 3 * n) {
		errno = EBADMSG;
		return -1;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *w = buf + 3 * i;

		if (scd30_crc8(w, 2) != w[2]) {
			errno = EBADMSG;
			return -1;
		}
		words[i] = (uint16_t)((w[0] << 8) | w[1]);
	}
	return 0;
}

static float word_pair_to_float(uint16_t hi, uint16_t lo)
{
	uint32_t u = ((uint32_t)hi << 16) | lo;
	float f;

	_Static_assert(sizeof(f) == sizeof(u), "IEEE 754 single precision");
	memcpy(&f, &u, sizeof(f));
	return f;
}

static bool in_range(float v, float lo, float hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

int scd30_decode_measurement(const uint8_t *buf, size_t len, struct scd30_measurement *m)
{
	uint16_t w[6];
	struct scd30_measurement r;

	if (scd30_decode_words(buf, len, w, 6) != 0)
		return -1;
	r.co2_ppm = word_pair_to_float(w[0], w[1]);
	r.temperature_c = word_pair_to_float(w[2], w[3]);
	r.humidity_rh = word_pair_to_float(w[4], w[5]);
	if (!in_range(r.co2_ppm, 0.0f, 40000.0f) || !in_range(r.temperature_c, -40.0f, 125.0f) ||
	    !in_range(r.humidity_rh, 0.0f, 100.0f)) {
		errno = ERANGE;
		return -1;
	}
	*m = r;
	return 0;
}

size_t scd30_encode(uint16_t cmd, bool has_arg, uint16_t arg, uint8_t out[5])
{
	out[0] = (uint8_t)(cmd >> 8);
	out[1] = (uint8_t)(cmd & 0xFF);
	if (!has_arg)
		return 2;
	out[2] = (uint8_t)(arg >> 8);
	out[3] = (uint8_t)(arg & 0xFF);
	out[4] = scd30_crc8(out + 2, 2);
	return 5;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n = I2CMaster_Write(fd, SCD30_ADDRESS, buf, len);

	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int command(int fd, uint16_t cmd, bool has_arg, uint16_t arg)
{
	uint8_t out[5];

	return write_all(fd, out, scd30_encode(cmd, has_arg, arg, out));
}

/* The sensor needs at least 3 ms between a command and the read of its
 * answer (no repeated start). */
static void pause_3ms(void)
{
	struct timespec ts = { 0, 3 * 1000 * 1000 }, rem;

	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

static int read_words(int fd, uint16_t cmd, uint16_t *words, size_t n)
{
	uint8_t buf[SCD30_MEASUREMENT_LEN];
	ssize_t got;

	if (n == 0 || n > sizeof(buf) / 3) {
		errno = EINVAL;
		return -1;
	}
	if (command(fd, cmd, false, 0) != 0)
		return -1;
	pause_3ms();
	got = I2CMaster_Read(fd, SCD30_ADDRESS, buf, 3 * n);
	if (got < 0)
		return -1;
	if ((size_t)got != 3 * n) {
		errno = EPROTO;
		return -1;
	}
	return scd30_decode_words(buf, 3 * n, words, n);
}

int scd30_soft_reset(int fd)
{
	return command(fd, SCD30_CMD_SOFT_RESET, false, 0);
}

int scd30_firmware_version(int fd, uint16_t *version)
{
	return read_words(fd, SCD30_CMD_FIRMWARE_VERSION, version, 1);
}

int scd30_set_interval(int fd, uint16_t seconds)
{
	if (seconds < SCD30_INTERVAL_MIN || seconds > SCD30_INTERVAL_MAX) {
		errno = EINVAL;
		return -1;
	}
	return command(fd, SCD30_CMD_MEASUREMENT_INTERVAL, true, seconds);
}

int scd30_start_continuous(int fd, uint16_t pressure_mbar)
{
	if (pressure_mbar != 0 && (pressure_mbar < 700 || pressure_mbar > 1400)) {
		errno = EINVAL;
		return -1;
	}
	return command(fd, SCD30_CMD_START_CONTINUOUS, true, pressure_mbar);
}

int scd30_stop_continuous(int fd)
{
	return command(fd, SCD30_CMD_STOP_CONTINUOUS, false, 0);
}

int scd30_data_ready(int fd, bool *ready)
{
	uint16_t w;

	if (read_words(fd, SCD30_CMD_DATA_READY, &w, 1) != 0)
		return -1;
	*ready = w == 1;
	return 0;
}

int scd30_read_measurement(int fd, struct scd30_measurement *m)
{
	uint8_t buf[SCD30_MEASUREMENT_LEN];
	ssize_t got;

	if (command(fd, SCD30_CMD_READ_MEASUREMENT, false, 0) != 0)
		return -1;
	pause_3ms();
	got = I2CMaster_Read(fd, SCD30_ADDRESS, buf, sizeof(buf));
	if (got < 0)
		return -1;
	if ((size_t)got != sizeof(buf)) {
		errno = EPROTO;
		return -1;
	}
	return scd30_decode_measurement(buf, sizeof(buf), m);
}
