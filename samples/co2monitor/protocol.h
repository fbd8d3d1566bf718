/* co2monitor's two small formats, parsed strictly (pure code, no I/O):
 *
 * - the commands its partner app sends over the application channel,
 *   one JSON object per SEQPACKET message:
 *     {"cmd":"set_threshold","ppm":1000}   400..10000
 *     {"cmd":"set_interval","s":5}         2..1800 (the SCD30's range)
 *     {"cmd":"measure_now"}
 *     {"cmd":"status"}
 *   each with an optional "id" (integer 0..2^31-1) the reply echoes;
 * - its settings file in mutable storage:
 *     {"threshold_ppm":1000,"interval_s":2,"seq":17}
 *
 * Both take (pointer, length), refuse unknown keys, duplicate keys, wrong
 * types and out-of-range values, and say why in err (NUL-terminated,
 * cut to errlen). The partner is another app: nothing it sends is
 * trusted. */
#ifndef SAMPLES_CO2MONITOR_PROTOCOL_H
#define SAMPLES_CO2MONITOR_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/* The longest message either side sends. */
#define CO2_MSG_MAX 1024

#define CO2_THRESHOLD_MIN 400
#define CO2_THRESHOLD_MAX 10000

enum co2_command_kind {
	CO2_CMD_SET_THRESHOLD,
	CO2_CMD_SET_INTERVAL,
	CO2_CMD_MEASURE_NOW,
	CO2_CMD_STATUS,
};

struct co2_command {
	enum co2_command_kind kind;
	unsigned int value; /* ppm or seconds */
	long long id;       /* -1 when absent */
};

struct co2_settings {
	unsigned int threshold_ppm;
	unsigned int interval_s;
	unsigned long long seq;
};

/* The command's name ("set_threshold", ...). */
const char *co2_command_name(enum co2_command_kind kind);

int co2_command_parse(const uint8_t *buf, size_t len, struct co2_command *c, char *err,
		      size_t errlen);

int co2_settings_parse(const uint8_t *buf, size_t len, struct co2_settings *s, char *err,
		       size_t errlen);

/* The settings as compact JSON into out (cap bytes, NUL-terminated):
 * the length, or -1 if it does not fit. */
int co2_settings_format(const struct co2_settings *s, char *out, size_t cap);

#endif
