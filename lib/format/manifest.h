/* Azure Sphere app manifests (app_manifest.json), read as they are.
 *
 * Validation is strict: unknown keys, wrong types and bad values are
 * refused, and the error names the field path and the reason, e.g.
 *   Capabilities.AllowedConnections[2]: "exa mple.com" is not a host name
 * Rampart's own settings live under the top-level key "Rampart". */
#ifndef RP_FORMAT_MANIFEST_H
#define RP_FORMAT_MANIFEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define RP_MANIFEST_MAX (64 * 1024) /* bytes of JSON text */
#define RP_MANIFEST_NAME_MAX 31     /* Azure Sphere keeps 31 characters */
#define RP_MANIFEST_ARRAY_MAX 256   /* entries in any array */
#define RP_MANIFEST_STRING_MAX 1024 /* bytes in any string value */
#define RP_MANIFEST_STORAGE_KB_MAX 65536 /* MutableStorage.SizeKB (64 MiB) */

struct rp_board;

enum rp_app_type {
	RP_APP_DEFAULT = 1,
	RP_APP_DEBUGGER = 2,
	RP_APP_REALTIME = 3, /* "RealTimeCapable" */
};

/* Rampart's own resource limits, from the top-level "Rampart" object.
 * 0 means "not set": the runtime applies its default. Ranges are checked
 * at parse time (see docs/formats/app-manifest.md). */
struct rp_manifest_limits {
	uint64_t memory_limit_kb;     /* MemoryLimitKB: 1024..16777216 */
	uint64_t max_processes;       /* MaxProcesses: 1..4096 */
	uint64_t tmp_size_kb;         /* TmpSizeKB: 4..1048576 */
	uint64_t max_open_files;      /* MaxOpenFiles: 16..65536 */
	uint64_t cpu_weight;          /* CpuWeight: 1..10000 (cgroup cpu.weight) */
};

struct rp_manifest {
	json_t *root;                 /* the validated document (owned) */
	char name[RP_MANIFEST_NAME_MAX + 1];
	uint8_t component_id[16];     /* GUID bytes in text order */
	char component_id_text[37];   /* lower-case 8-4-4-4-12 */
	enum rp_app_type app_type;
	const char *entry_point;      /* points into root */
	uint64_t storage_kb;          /* MutableStorage.SizeKB, 0 if none */
	int needs_board;              /* some value is "$NAME" */
	struct rp_manifest_limits limits; /* the "Rampart" object */
};

/* Parse and validate len bytes of JSON. *out is owned by the caller; free
 * with rp_manifest_free. */
int rp_manifest_parse(const uint8_t *buf, size_t len, struct rp_manifest **out,
		      struct rp_err *e) RP_WUR;

/* Replace every "$NAME" peripheral reference with the AppManifestValue the
 * board definition gives it, checking that the peripheral's type matches
 * the capability (a Gpio entry must name a Gpio). Fails naming the field.
 * Two references resolving to the same value collapse into one entry. On
 * failure m is left unchanged; on success needs_board becomes 0. */
int rp_manifest_resolve(struct rp_manifest *m, const struct rp_board *b,
			struct rp_err *e) RP_WUR;

/* Compact JSON with sorted keys: the form stored in image packages.
 * out is initialised here; free with rp_buf_free. */
int rp_manifest_serialize(const struct rp_manifest *m, struct rp_buf *out,
			  struct rp_err *e) RP_WUR;

void rp_manifest_free(struct rp_manifest *m);

/* GUID text <-> 16 bytes (byte order of the text; case-insensitive). */
int rp_guid_parse(const char *s, size_t len, uint8_t out[16]) RP_WUR;
void rp_guid_format(const uint8_t g[16], char out[37]);

#endif
