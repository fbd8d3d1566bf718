/* Hardware definitions in Azure Sphere's JSON format, with Rampart's
 * Linux mapping.
 *
 * A definition file has Metadata, Description, Imports and Peripherals.
 * Peripherals either map to a name in an imported file ("Mapping") or, at
 * the base of the chain, give the value apps use ("AppManifestValue") and,
 * in Rampart's own key "Rampart", the Linux resource behind it. Existing
 * Azure Sphere definitions (sample_appliance.json and friends) load
 * unchanged. */
#ifndef RP_FORMAT_BOARD_H
#define RP_FORMAT_BOARD_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define RP_BOARD_FILE_MAX (256 * 1024) /* bytes per definition file */
#define RP_BOARD_IMPORT_DEPTH 8         /* longest import chain */
#define RP_BOARD_PERIPH_MAX 1024        /* peripherals across the chain */
#define RP_BOARD_FILES_MAX 64           /* distinct files in the chain */
#define RP_BOARD_HEADER_MAX (1024 * 1024) /* bytes of generated header */

struct rp_board; /* opaque; free with rp_board_free */

/* One peripheral of the top-level file or any file it imports. */
struct rp_board_periph {
	const char *name;       /* "SAMPLE_LED" */
	const char *type;       /* "Gpio", "Uart", "I2cMaster", "SpiMaster",
				   "Pwm", "Adc", "int" */
	const char *mapping;    /* name in an imported file, or NULL */
	const json_t *value;    /* resolved AppManifestValue (integer or
				   string), NULL if unresolved */
	const char *comment;    /* or NULL */
	const char *linux_res;  /* e.g. "/dev/gpiochip0 line 17", or NULL */
	const char *file;       /* the definition file it came from */
	int top_level;          /* declared in the file that was loaded */
	/* Rampart's Linux resource split out for the runtime, inherited
	 * through Mappings like value. All NULL / -1 when none is given. */
	const char *linux_path;  /* device node or sysfs directory */
	const char *linux_label; /* gpiochip label, when given instead */
	int linux_line;          /* GPIO line offset, -1 if not a Gpio */
	const char *header_value; /* what the header #defines NAME to: the
				     Mapping name or MainCoreHeaderValue */
};

/* Load path and its import chain. Imports are looked up relative to the
 * importing file's directory, then in each of search_dirs (a
 * NULL-terminated list, may be NULL). Cycles, chains deeper than
 * RP_BOARD_IMPORT_DEPTH, duplicate names and unresolvable mappings are
 * refused. *out is owned by the caller. */
int rp_board_load(const char *path, const char *const *search_dirs,
		  struct rp_board **out, struct rp_err *e) RP_WUR;

/* Parse one definition file from memory, without following imports (its
 * Mappings stay unresolved). For tests and fuzzing. */
int rp_board_parse(const uint8_t *buf, size_t len, const char *label,
		   struct rp_board **out, struct rp_err *e) RP_WUR;

const char *rp_board_name(const struct rp_board *b);  /* Description.Name */
size_t rp_board_count(const struct rp_board *b);
const struct rp_board_periph *rp_board_at(const struct rp_board *b, size_t i);
/* The peripheral called name, or NULL. */
const struct rp_board_periph *rp_board_find(const struct rp_board *b,
					    const char *name);

/* The C header Azure Sphere's tools write for the loaded (top-level) file:
 * MainCoreHeaderFileTopContent, "#pragma once", one #include per import,
 * and a commented #define per peripheral. out is initialised here. */
int rp_board_header(const struct rp_board *b, struct rp_buf *out,
		    struct rp_err *e) RP_WUR;
/* The header's file name: the loaded file's base name with ".h". */
const char *rp_board_header_name(const struct rp_board *b);

void rp_board_free(struct rp_board *b);

#endif
