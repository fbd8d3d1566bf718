/* An emulated Sensirion SCD30 CO2 sensor, as seen from its I2C bus
 * (address 0x61). Pure: no I/O, the caller passes the time.
 *
 * The interface datasheet ("Interface Description Sensirion SCD30 Sensor
 * Module", version 1.0, 2020) is the model: 16-bit big-endian commands,
 * each 16-bit argument or data word followed by its CRC-8 (polynomial
 * 0x31, init 0xFF; crc(0xBE, 0xEF) == 0x92). A write sets the command
 * (and, for a setter, its argument); a following read returns that
 * command's data. What the emulation does where the datasheet is silent
 * is written in docs/sim.md. */
#ifndef RP_SIM_SCD30_H
#define RP_SIM_SCD30_H

#include <stddef.h>
#include <stdint.h>

#define RP_SCD30_ADDR 0x61

#define RP_SCD30_CMD_START 0x0010      /* arg: ambient pressure mbar (0, 700..1400) */
#define RP_SCD30_CMD_STOP 0x0104
#define RP_SCD30_CMD_INTERVAL 0x4600   /* get, or set 2..1800 s */
#define RP_SCD30_CMD_READY 0x0202
#define RP_SCD30_CMD_READ 0x0300
#define RP_SCD30_CMD_ASC 0x5306        /* automatic self-calibration 0/1 */
#define RP_SCD30_CMD_FRC 0x5204        /* forced recalibration 400..2000 ppm */
#define RP_SCD30_CMD_TOFFSET 0x5403    /* temperature offset, 0.01 C */
#define RP_SCD30_CMD_ALTITUDE 0x5102   /* metres above sea level */
#define RP_SCD30_CMD_FIRMWARE 0xD100
#define RP_SCD30_CMD_RESET 0xD304

#define RP_SCD30_FIRMWARE 0x0342       /* reported version 3.66 */
#define RP_SCD30_INTERVAL_MIN 2
#define RP_SCD30_INTERVAL_MAX 1800
#define RP_SCD30_READ_MAX 18           /* longest answer: a measurement */

/* What the control side may set, in thousandths. */
#define RP_SCD30_CO2_MAX_M 40000000    /* 40000 ppm */
#define RP_SCD30_T_MIN_M (-40000)      /* -40 C */
#define RP_SCD30_T_MAX_M 70000         /* 70 C */
#define RP_SCD30_RH_MAX_M 100000       /* 100 % */

struct rp_scd30 {
	/* environment (control side), thousandths of ppm, C, % */
	int32_t co2_m, t_m, rh_m;
	uint64_t seed;          /* 0: no noise */
	/* sensor state */
	uint16_t interval_s;
	uint16_t pressure_mbar;
	uint16_t asc, frc_ppm, toffset, altitude;
	int measuring;
	uint64_t start_ms;      /* when the current measurement period began */
	uint64_t slot_read;     /* last period whose measurement was read */
	uint16_t pending;       /* command whose data the next read returns; 0 none */
	uint8_t last[RP_SCD30_READ_MAX]; /* last measurement's 18 bytes */
	int have_last;
	uint64_t measurements_read;
	uint64_t crc_errors, nacks;
};

/* CRC-8 of the datasheet: polynomial 0x31, init 0xFF, no reflection. */
uint8_t rp_scd30_crc(const uint8_t *p, size_t n);

/* Power-on state: 400 ppm, 21 C, 50 %, interval 2 s, not measuring. */
void rp_scd30_init(struct rp_scd30 *s, uint64_t seed);

/* The master writes n bytes (n >= 1). Returns 0 (acknowledged) or
 * -EIO (the chip NACKs: unknown command, wrong length). A bad CRC is
 * acknowledged but ignored, and leaves no data to read. */
int rp_scd30_write(struct rp_scd30 *s, uint64_t now_ms, const uint8_t *p,
		   size_t n);

/* The master reads n bytes (1..4096) into out. Returns 0, or -EIO when no
 * command has prepared data (the chip NACKs its address). Bytes past the
 * answer read as 0xFF. */
int rp_scd30_read(struct rp_scd30 *s, uint64_t now_ms, uint8_t *out,
		  size_t n);

/* Whether a new measurement is ready now (for status). */
int rp_scd30_ready(const struct rp_scd30 *s, uint64_t now_ms);

#endif
