/* A driver for the Sensirion SCD30 CO2, temperature and humidity sensor
 * on an applibs I2C master (Interface Description Sensirion SCD30
 * Sensor Module, I2C section).
 *
 * The wire format: a command is a 16-bit big-endian word, optionally
 * followed by one argument word and its CRC. Every word the sensor sends
 * is followed by a CRC-8 (polynomial 0x31, init 0xFF). The sensor does
 * not support repeated starts: a read is a write of the command, a pause
 * of at least 3 ms, then a read.
 *
 * The pure part (CRC, word decoding, measurement decoding) checks every
 * length and CRC; a mismatch is EBADMSG. The I/O functions return 0, or
 * -1 with errno (the I2C call's, or EBADMSG, EPROTO for a short read,
 * ERANGE for a value outside what the sensor can report). */
#ifndef SAMPLES_CO2MONITOR_SCD30_H
#define SAMPLES_CO2MONITOR_SCD30_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCD30_ADDRESS 0x61

#define SCD30_CMD_START_CONTINUOUS 0x0010
#define SCD30_CMD_STOP_CONTINUOUS 0x0104
#define SCD30_CMD_MEASUREMENT_INTERVAL 0x4600
#define SCD30_CMD_DATA_READY 0x0202
#define SCD30_CMD_READ_MEASUREMENT 0x0300
#define SCD30_CMD_FIRMWARE_VERSION 0xD100
#define SCD30_CMD_SOFT_RESET 0xD304

/* Bytes of a measurement: 6 words (CO2, T, RH as two words each), each
 * followed by its CRC. */
#define SCD30_MEASUREMENT_LEN 18

/* The interval the sensor accepts, in seconds. */
#define SCD30_INTERVAL_MIN 2
#define SCD30_INTERVAL_MAX 1800

struct scd30_measurement {
	float co2_ppm;
	float temperature_c;
	float humidity_rh;
};

/* CRC-8, polynomial 0x31, initial value 0xFF, no reflection, no final
 * XOR (the datasheet's check value: 0xBEEF -> 0x92). */
uint8_t scd30_crc8(const uint8_t *data, size_t len);

/* Decode n words (3 bytes each: big-endian word, CRC) from buf: 0, or -1
 * with errno EBADMSG (a CRC mismatch, or len != 3 * n). */
int scd30_decode_words(const uint8_t *buf, size_t len, uint16_t *words, size_t n);

/* Decode a measurement (SCD30_MEASUREMENT_LEN bytes). Values that are not
 * finite or outside the sensor's output range (CO2 0..40000 ppm,
 * T -40..125 C, RH 0..100 %) are ERANGE. */
int scd30_decode_measurement(const uint8_t *buf, size_t len, struct scd30_measurement *m);

/* Encode a command, with one argument word when has_arg: the length
 * written to out (2 or 5). */
size_t scd30_encode(uint16_t cmd, bool has_arg, uint16_t arg, uint8_t out[5]);

/* I/O on an open I2C master descriptor. */
int scd30_soft_reset(int fd);
int scd30_firmware_version(int fd, uint16_t *version);
int scd30_set_interval(int fd, uint16_t seconds);
/* pressure_mbar 0 (no compensation) or 700..1400. */
int scd30_start_continuous(int fd, uint16_t pressure_mbar);
int scd30_stop_continuous(int fd);
int scd30_data_ready(int fd, bool *ready);
int scd30_read_measurement(int fd, struct scd30_measurement *m);

#endif
