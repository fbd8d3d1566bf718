/* The requests an app sends rampartd on its app socket
 * (/run/rampart/app.sock): one line of compact JSON each, at most
 * RP_CTL_CHAN_MAX bytes (docs/formats/control-protocol.md, "App channel";
 * the open request: docs/formats/peripheral-protocol.md section 1).
 *
 *   {"connect":"<ComponentId>"}
 *   {"open":"Gpio","id":2,"direction":"output","output_mode":"PushPull","value":0}
 *   {"open":"I2cMaster"|"SpiMaster"|"Uart"|"Pwm"|"Adc","id":N[,"chip_select":C]}
 *   {"sysevent":"register","events":["UpdateReadyForInstall",...]}
 *   {"sysevent":"unregister"}
 *   {"sysevent":"defer","event":"UpdateReadyForInstall","minutes":N}
 *   {"sysevent":"resume","event":"UpdateReadyForInstall"}
 *   {"power":"ForceReboot"|"ForcePowerDown"}
 *   {"power":"SetPowerProfile","profile":"PowerSaver"|"Balanced"|"HighPerformance"}
 *   {"deviceauth":"status"}
 *   {"storage":"quota"}
 *
 * Decoding is strict: exactly one request key, no key the request does not
 * take, exact types and ranges. Every failure has code RP_EINVAL (-EINVAL,
 * what the app is told) and names the key. Pure; fuzzed by
 * fuzz/fuzz_appreq.c. */
#ifndef RP_CTL_APPREQ_H
#define RP_CTL_APPREQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum rp_appreq_kind {
	RP_APPREQ_CONNECT = 1,
	RP_APPREQ_OPEN,
	RP_APPREQ_SYSEVENT,
	RP_APPREQ_POWER,
	RP_APPREQ_DEVICEAUTH,
	RP_APPREQ_STORAGE,
};

/* Peripheral capabilities, in manifest spelling (rp_appreq_periph_name). */
enum rp_appreq_periph {
	RP_PERIPH_GPIO = 1,
	RP_PERIPH_I2C,
	RP_PERIPH_SPI,
	RP_PERIPH_UART,
	RP_PERIPH_PWM,
	RP_PERIPH_ADC,
};

enum rp_appreq_drive {
	RP_DRIVE_PUSH_PULL = 0,
	RP_DRIVE_OPEN_DRAIN,
	RP_DRIVE_OPEN_SOURCE,
};

enum rp_appreq_sysev {
	RP_SYSEV_REGISTER = 1,
	RP_SYSEV_UNREGISTER,
	RP_SYSEV_DEFER,
	RP_SYSEV_RESUME,
};

/* System events (bits of rp_appreq.events). */
#define RP_EV_UPDATE_READY 0x1u    /* "UpdateReadyForInstall" */
#define RP_EV_UPDATE_STARTED 0x2u  /* "UpdateStarted" */
#define RP_EV_NO_UPDATE 0x4u       /* "NoUpdateAvailable" */
#define RP_EV_ALL 0x7u

#define RP_DEFER_MINUTES_MAX 1440  /* 24 hours, as on Azure Sphere */
#define RP_APPREQ_ID_MAX 65535     /* peripheral ids (MainCoreHeaderValue) */
#define RP_APPREQ_CS_MAX 255

enum rp_appreq_power {
	RP_POWER_REBOOT = 1,       /* "ForceReboot" */
	RP_POWER_DOWN,             /* "ForcePowerDown" */
	RP_POWER_PROFILE,          /* "SetPowerProfile" */
};

enum rp_power_profile {
	RP_PROFILE_POWER_SAVER = 1,
	RP_PROFILE_BALANCED,
	RP_PROFILE_HIGH_PERFORMANCE,
};

struct rp_appreq {
	enum rp_appreq_kind kind;
	/* connect */
	uint8_t target[16];
	/* open */
	enum rp_appreq_periph periph;
	uint32_t id;
	int output;                 /* Gpio: direction output (else input) */
	enum rp_appreq_drive drive; /* Gpio output */
	int value;                  /* Gpio output: 0 or 1 */
	int has_cs;                 /* SpiMaster: chip_select given */
	uint32_t chip_select;
	/* sysevent */
	enum rp_appreq_sysev sysev;
	unsigned events;            /* register: RP_EV_* bits (at least one);
				       defer/resume: the one event */
	uint32_t minutes;           /* defer: 1..RP_DEFER_MINUTES_MAX */
	/* power */
	enum rp_appreq_power power;
	enum rp_power_profile profile; /* SetPowerProfile */
};

/* Decode one line (without its '\n') of untrusted bytes. */
int rp_appreq_decode(const uint8_t *buf, size_t len, struct rp_appreq *r,
		     struct rp_err *e) RP_WUR;
/* Encode r as one line with its '\n' into out (cap bytes, at least
 * RP_CTL_CHAN_MAX is always enough). Refuses (RP_EUSAGE) what would not
 * decode. */
int rp_appreq_encode(const struct rp_appreq *r, char *out, size_t cap,
		     size_t *len, struct rp_err *e) RP_WUR;

/* A reply from rampartd to an app: o (reference stolen) as compact JSON
 * plus '\n' into out. Fails with RP_ERANGE over cap bytes. */
int rp_appreq_reply_encode(json_t *o, char *out, size_t cap, size_t *len,
			   struct rp_err *e) RP_WUR;

/* "Gpio", "I2cMaster", ... or NULL. */
const char *rp_appreq_periph_name(enum rp_appreq_periph p);
/* The name of one RP_EV_* bit, or NULL. */
const char *rp_appreq_event_name(unsigned bit);
const char *rp_appreq_power_name(enum rp_appreq_power p);
const char *rp_appreq_profile_name(enum rp_power_profile p);

#endif
