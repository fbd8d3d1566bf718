/* The emulated SCD30 (scd30.h). */
#include <errno.h>
#include <string.h>

#include "base/bytes.h"
#include "scd30.h"

uint8_t rp_scd30_crc(const uint8_t *p, size_t n)
{
	uint8_t crc = 0xFF;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (uint8_t)(crc & 0x80 ? (crc << 1) ^ 0x31 : crc << 1);
	}
	return crc;
}

void rp_scd30_init(struct rp_scd30 *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->co2_m = 400000;
	s->t_m = 21000;
	s->rh_m = 50000;
	s->seed = seed;
	s->interval_s = RP_SCD30_INTERVAL_MIN;
	s->frc_ppm = 400;
	s->asc = 0;
}

/* The measurement period now, counted from the start (0 = the first
 * interval has not elapsed). */
static uint64_t slot(const struct rp_scd30 *s, uint64_t now_ms)
{
	if (!s->measuring || now_ms < s->start_ms)
		return 0;
	return (now_ms - s->start_ms) / ((uint64_t)s->interval_s * 1000u);
}

int rp_scd30_ready(const struct rp_scd30 *s, uint64_t now_ms)
{
	uint64_t k = slot(s, now_ms);

	return k >= 1 && k > s->slot_read;
}

static void restart(struct rp_scd30 *s, uint64_t now_ms)
{
	s->start_ms = now_ms;
	s->slot_read = 0;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static void put_float(uint8_t *o, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	rp_enc16be(o, (uint16_t)(u >> 16));
	o[2] = rp_scd30_crc(o, 2);
	rp_enc16be(o + 3, (uint16_t)u);
	o[5] = rp_scd30_crc(o + 3, 2);
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One new measurement: the environment plus small noise that depends only
 * on the seed and how many measurements were read before. */
static void measure(struct rp_scd30 *s)
{
	int32_t dco2 = 0, dt = 0, drh = 0, co2, t, rh;

	if (s->seed) {
		uint64_t x = splitmix(s->seed ^ (s->measurements_read * 0x2545F4914F6CDD1Dull));

		dco2 = ((int32_t)(x % 5) - 2) * 1000;          /* +-2 ppm */
		dt = ((int32_t)((x >> 8) % 11) - 5) * 10;      /* +-0.05 C */
		drh = ((int32_t)((x >> 16) % 11) - 5) * 20;    /* +-0.1 % */
	}
	co2 = clamp(s->co2_m + dco2, 0, RP_SCD30_CO2_MAX_M);
	t = s->t_m + dt - (int32_t)s->toffset * 10;
	rh = clamp(s->rh_m + drh, 0, RP_SCD30_RH_MAX_M);
	put_float(s->last, (float)co2 / 1000.0f);
	put_float(s->last + 6, (float)t / 1000.0f);
	put_float(s->last + 12, (float)rh / 1000.0f);
	s->have_last = 1;
	s->measurements_read++;
}

static int nack(struct rp_scd30 *s)
{
	s->pending = 0;
	s->nacks++;
	return -EIO;
}

int rp_scd30_write(struct rp_scd30 *s, uint64_t now_ms, const uint8_t *p,
		   size_t n)
{
	uint16_t cmd, arg = 0;
	int has_arg;

	if (n != 2 && n != 5)
		return nack(s);
	cmd = rp_dec16be(p);
	has_arg = n == 5;
	s->pending = 0;
	if (has_arg) {
		if (rp_scd30_crc(p + 2, 2) != p[4]) {
			/* The chip checks the CRC and drops the command. */
			s->crc_errors++;
			return 0;
		}
		arg = rp_dec16be(p + 2);
	}
	switch (cmd) {
	case RP_SCD30_CMD_START:
		if (!has_arg)
			return nack(s);
		if (arg != 0 && (arg < 700 || arg > 1400))
			return 0; /* out of range: ignored */
		s->pressure_mbar = arg;
		if (!s->measuring) {
			s->measuring = 1;
			restart(s, now_ms);
		}
		return 0;
	case RP_SCD30_CMD_STOP:
		if (has_arg)
			return nack(s);
		s->measuring = 0;
		return 0;
	case RP_SCD30_CMD_INTERVAL:
		if (!has_arg) {
			s->pending = cmd;
			return 0;
		}
		if (arg < RP_SCD30_INTERVAL_MIN || arg > RP_SCD30_INTERVAL_MAX)
			return 0;
		if (arg != s->interval_s) {
			s->interval_s = arg;
			restart(s, now_ms);
		}
		return 0;
	case RP_SCD30_CMD_READY:
	case RP_SCD30_CMD_READ:
	case RP_SCD30_CMD_FIRMWARE:
		if (has_arg)
			return nack(s);
		s->pending = cmd;
		return 0;
	case RP_SCD30_CMD_ASC:
		if (!has_arg)
			s->pending = cmd;
		else if (arg <= 1)
			s->asc = arg;
		return 0;
	case RP_SCD30_CMD_FRC:
		if (!has_arg)
			s->pending = cmd;
		else if (arg >= 400 && arg <= 2000)
			s->frc_ppm = arg;
		return 0;
	case RP_SCD30_CMD_TOFFSET:
		if (!has_arg)
			s->pending = cmd;
		else
			s->toffset = arg;
		return 0;
	case RP_SCD30_CMD_ALTITUDE:
		if (!has_arg)
			s->pending = cmd;
		else
			s->altitude = arg;
		return 0;
	case RP_SCD30_CMD_RESET:
		if (has_arg)
			return nack(s);
		/* Interval and measuring mode live in the chip's non-volatile
		 * memory; a reset restarts the measurement period. */
		restart(s, now_ms);
		return 0;
	default:
		return nack(s);
	}
}

static size_t word(uint8_t *o, uint16_t v)
{
	rp_enc16be(o, v);
	o[2] = rp_scd30_crc(o, 2);
	return 3;
}

int rp_scd30_read(struct rp_scd30 *s, uint64_t now_ms, uint8_t *out,
		  size_t n)
{
	uint8_t a[RP_SCD30_READ_MAX];
	size_t alen = 0;
	uint64_t k;

	switch (s->pending) {
	case RP_SCD30_CMD_INTERVAL:
		alen = word(a, s->interval_s);
		break;
	case RP_SCD30_CMD_READY:
		alen = word(a, (uint16_t)rp_scd30_ready(s, now_ms));
		break;
	case RP_SCD30_CMD_READ:
		k = slot(s, now_ms);
		if (k >= 1 && k > s->slot_read) {
			s->slot_read = k;
			measure(s);
		} else if (!s->have_last) {
			return nack(s);
		}
		/* Not ready: the previous measurement again. */
		memcpy(a, s->last, sizeof(s->last));
		alen = sizeof(s->last);
		break;
	case RP_SCD30_CMD_FIRMWARE:
		alen = word(a, RP_SCD30_FIRMWARE);
		break;
	case RP_SCD30_CMD_ASC:
		alen = word(a, s->asc);
		break;
	case RP_SCD30_CMD_FRC:
		alen = word(a, s->frc_ppm);
		break;
	case RP_SCD30_CMD_TOFFSET:
		alen = word(a, s->toffset);
		break;
	case RP_SCD30_CMD_ALTITUDE:
		alen = word(a, s->altitude);
		break;
	default:
		return nack(s);
	}
	s->pending = 0;
	if (n <= alen) {
		memcpy(out, a, n);
	} else {
		memcpy(out, a, alen);
		memset(out + alen, 0xFF, n - alen);
	}
	return 0;
}
