/* The device's error-report store: every app exit, bounded and crash-safe.
 * Byte layout: docs/formats/error-reports.md.
 *
 * A ring file of fixed-size 256-byte records. Each record carries a
 * sequence number and a CRC-32 over its other bytes; record seq lives in
 * slot (seq - 1) % nslots, so the file never grows and the oldest record
 * is overwritten first. Opening scans every slot: a record whose magic,
 * version or CRC does not check (a torn write after a power cut or a
 * kill -9) is ignored, and numbering resumes after the highest valid
 * sequence number. Each append is one pwrite of one record followed by
 * fdatasync, so a record is either wholly there or ignored.
 *
 * Queries aggregate records the way Azure Sphere's error reports do:
 * Event Type, Event Class, Event Count, Description, Start Time, End Time
 * (the Device ID is the caller's). */
#ifndef RP_STORE_REPORTS_H
#define RP_STORE_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define RP_REPORT_LEN 256
#define RP_REPORTS_SLOTS_DEFAULT 1024  /* 256 KiB of reports */
#define RP_REPORTS_SLOTS_MAX 65536
#define RP_REPORTS_QUERY_MAX 1000      /* Azure Sphere's per-download cap */
#define RP_REPORT_VERSION_LEN 32
#define RP_REPORT_NAME_LEN 32
#define RP_REPORT_DETAIL_LEN 128

enum rp_event_type {
	RP_EVENT_PLANNED = 1,   /* a requested stop, an update, a delete */
	RP_EVENT_UNPLANNED = 2, /* an exit or crash the device did not ask for */
};

enum rp_event_class {
	RP_CLASS_APP = 1,       /* "Application" */
	RP_CLASS_OS = 2,        /* "OS": the runtime itself */
};

enum rp_exit_kind {
	RP_EXIT_CODE = 1,       /* exited; status is the exit code */
	RP_EXIT_SIGNAL = 2,     /* killed; status is the signal number */
	RP_EXIT_START = 3,      /* could not be started; detail says why */
	RP_EXIT_REQUEST = 4,    /* not an exit: a request the app made
				   (power control); detail says which */
};

struct rp_report {
	uint64_t seq;           /* set by rp_reports_append */
	uint64_t time;          /* seconds since the epoch */
	uint8_t component_id[16];
	enum rp_event_type type;
	enum rp_event_class cls;
	enum rp_exit_kind kind;
	int32_t status;
	uint32_t restarts;      /* restarts before this exit */
	uint32_t security_version;
	char version[RP_REPORT_VERSION_LEN + 1]; /* image version text */
	char name[RP_REPORT_NAME_LEN + 1];       /* app name */
	char detail[RP_REPORT_DETAIL_LEN + 1];   /* free text, may be "" */
};

/* Pure: one record to and from its 256 bytes. Text fields that are too
 * long are truncated on encode. Decode refuses a wrong magic, version,
 * CRC, enum value or an unterminated text field (RP_EFORMAT). */
void rp_report_encode(const struct rp_report *r, uint8_t out[RP_REPORT_LEN]);
int rp_report_decode(const uint8_t in[RP_REPORT_LEN], struct rp_report *r,
		     struct rp_err *e) RP_WUR;

/* CRC-32 (IEEE 802.3, as zlib): used by every store file. */
uint32_t rp_crc32(const uint8_t *p, size_t n);

/* An open store; fd -1 when closed. */
struct rp_reports {
	int fd;
	uint32_t nslots;
	uint64_t next_seq;
};

/* Open or create the ring at path with nslots slots (1..SLOTS_MAX). An
 * existing file of another size is used with its own slot count when it
 * is a whole number of records, and refused otherwise. Close with
 * rp_reports_close (accepts a closed store). */
int rp_reports_open(const char *path, uint32_t nslots, struct rp_reports *out,
		    struct rp_err *e) RP_WUR;
/* Append r (r->seq is set) durably. */
int rp_reports_append(struct rp_reports *s, struct rp_report *r,
		      struct rp_err *e) RP_WUR;
/* Every valid record, oldest first; *out is owned by the caller (free). */
int rp_reports_read(struct rp_reports *s, struct rp_report **out, size_t *n,
		    struct rp_err *e) RP_WUR;
void rp_reports_close(struct rp_reports *s);

/* One row of an aggregated report. */
struct rp_report_agg {
	const char *event_type;  /* "Planned" / "Unplanned" (static) */
	const char *event_class; /* "Application" / "OS" (static) */
	uint64_t count;
	char description[320];
	uint64_t start, end;     /* first and last time */
	uint8_t component_id[16];
};

/* The Azure Sphere-style description of one record, e.g.
 *   AppExit: exit_code=1; component_id=...; name=hello; image_version=1.0.0
 * The restart count is not part of it, so repeated exits aggregate. */
void rp_report_describe(const struct rp_report *r, char *out, size_t cap);

/* Pure: group records (oldest first) by event type, class and
 * description, counting them and keeping the first and last time; at most
 * RP_REPORTS_QUERY_MAX rows, from the newest records. Rows are ordered by
 * their last time, newest first. *out is owned by the caller (free). */
int rp_reports_aggregate(const struct rp_report *r, size_t n,
			 struct rp_report_agg **out, size_t *nout,
			 struct rp_err *e) RP_WUR;

/* "2024-05-01T12:00:00Z" into out (at least 21 bytes). */
void rp_time_iso(uint64_t t, char *out, size_t cap);

#endif
