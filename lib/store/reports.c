#include "store/reports.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/file.h"
#include "format/manifest.h"

/* Record layout (docs/formats/error-reports.md). */
#define R_MAGIC "RPER"
#define R_VERSION 1
enum {
	O_MAGIC = 0,      /* 4 */
	O_VER = 4,        /* 2 */
	O_LEN = 6,        /* 2 */
	O_SEQ = 8,        /* 8 */
	O_TIME = 16,      /* 8 */
	O_COMP = 24,      /* 16 */
	O_TYPE = 40,      /* 1 */
	O_CLASS = 41,     /* 1 */
	O_KIND = 42,      /* 1 */
	O_RSV = 43,       /* 1 */
	O_STATUS = 44,    /* 4, two's complement */
	O_RESTARTS = 48,  /* 4 */
	O_SECVER = 52,    /* 4 */
	O_VERSION = 56,   /* 32 */
	O_NAME = 88,      /* 32 */
	O_DETAIL = 120,   /* 128 */
	O_PAD = 248,      /* 4, zero */
	O_CRC = 252,      /* 4 */
};
_Static_assert(O_DETAIL + RP_REPORT_DETAIL_LEN == O_PAD, "layout");
_Static_assert(O_CRC + 4 == RP_REPORT_LEN, "record is 256 bytes");

uint32_t rp_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

static void put_text(uint8_t *dst, size_t n, const char *s)
{
	size_t k = strnlen(s, n);

	memset(dst, 0, n);
	memcpy(dst, s, k);
}

/* A field of n bytes: NUL-padded text; exactly n bytes without a NUL is
 * allowed, and every byte after the first NUL must be NUL. */
static int get_text(const uint8_t *src, size_t n, char *out)
{
	size_t k = strnlen((const char *)src, n), i;

	for (i = k; i < n; i++)
		if (src[i] != 0)
			return -1;
	memcpy(out, src, k);
	out[k] = '\0';
	return 0;
}

void rp_report_encode(const struct rp_report *r, uint8_t out[RP_REPORT_LEN])
{
	memset(out, 0, RP_REPORT_LEN);
	memcpy(out + O_MAGIC, R_MAGIC, 4);
	rp_enc16le(out + O_VER, R_VERSION);
	rp_enc16le(out + O_LEN, RP_REPORT_LEN);
	rp_enc64le(out + O_SEQ, r->seq);
	rp_enc64le(out + O_TIME, r->time);
	memcpy(out + O_COMP, r->component_id, 16);
	out[O_TYPE] = (uint8_t)r->type;
	out[O_CLASS] = (uint8_t)r->cls;
	out[O_KIND] = (uint8_t)r->kind;
	rp_enc32le(out + O_STATUS, (uint32_t)r->status);
	rp_enc32le(out + O_RESTARTS, r->restarts);
	rp_enc32le(out + O_SECVER, r->security_version);
	put_text(out + O_VERSION, RP_REPORT_VERSION_LEN, r->version);
	put_text(out + O_NAME, RP_REPORT_NAME_LEN, r->name);
	put_text(out + O_DETAIL, RP_REPORT_DETAIL_LEN, r->detail);
	rp_enc32le(out + O_CRC, rp_crc32(out, O_CRC));
}

int rp_report_decode(const uint8_t in[RP_REPORT_LEN], struct rp_report *r,
		     struct rp_err *e)
{
	memset(r, 0, sizeof(*r));
	if (memcmp(in + O_MAGIC, R_MAGIC, 4) != 0)
		return rp_err_set(e, RP_EFORMAT, "report: bad magic");
	if (rp_dec32le(in + O_CRC) != rp_crc32(in, O_CRC))
		return rp_err_set(e, RP_EFORMAT, "report: CRC mismatch");
	if (rp_dec16le(in + O_VER) != R_VERSION ||
	    rp_dec16le(in + O_LEN) != RP_REPORT_LEN)
		return rp_err_set(e, RP_EFORMAT, "report: unknown version or length");
	if (in[O_TYPE] < RP_EVENT_PLANNED || in[O_TYPE] > RP_EVENT_UNPLANNED ||
	    in[O_CLASS] < RP_CLASS_APP || in[O_CLASS] > RP_CLASS_OS ||
	    in[O_KIND] < RP_EXIT_CODE || in[O_KIND] > RP_EXIT_REQUEST ||
	    in[O_RSV] != 0 || rp_dec32le(in + O_PAD) != 0)
		return rp_err_set(e, RP_EFORMAT, "report: bad field value");
	r->seq = rp_dec64le(in + O_SEQ);
	if (r->seq == 0)
		return rp_err_set(e, RP_EFORMAT, "report: sequence number 0");
	r->time = rp_dec64le(in + O_TIME);
	memcpy(r->component_id, in + O_COMP, 16);
	r->type = (enum rp_event_type)in[O_TYPE];
	r->cls = (enum rp_event_class)in[O_CLASS];
	r->kind = (enum rp_exit_kind)in[O_KIND];
	r->status = (int32_t)rp_dec32le(in + O_STATUS);
	r->restarts = rp_dec32le(in + O_RESTARTS);
	r->security_version = rp_dec32le(in + O_SECVER);
	if (get_text(in + O_VERSION, RP_REPORT_VERSION_LEN, r->version) ||
	    get_text(in + O_NAME, RP_REPORT_NAME_LEN, r->name) ||
	    get_text(in + O_DETAIL, RP_REPORT_DETAIL_LEN, r->detail))
		return rp_err_set(e, RP_EFORMAT, "report: bad text field");
	return 0;
}

int rp_reports_open(const char *path, uint32_t nslots, struct rp_reports *out,
		    struct rp_err *e)
{
	uint8_t rec[RP_REPORT_LEN];
	struct rp_report r;
	struct rp_err ignore;
	struct stat st;
	uint64_t max = 0, i;
	int fd = -1, rc = 0;

	out->fd = -1;
	out->nslots = 0;
	out->next_seq = 1;
	if (nslots < 1 || nslots > RP_REPORTS_SLOTS_MAX)
		return rp_err_set(e, RP_ERANGE, "reports: %u slots is out of range",
				  nslots);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "reports: %s", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = rp_err_errno(e, errno, "reports: %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rp_err_set(e, RP_EINVAL, "reports: %s: not a regular file", path);
		goto out;
	}
	if (st.st_size == 0) {
		if (ftruncate(fd, (off_t)nslots * RP_REPORT_LEN) < 0 || fsync(fd) < 0) {
			rc = rp_err_errno(e, errno, "reports: %s", path);
			goto out;
		}
	} else if (st.st_size % RP_REPORT_LEN != 0 ||
		   (uint64_t)st.st_size / RP_REPORT_LEN > RP_REPORTS_SLOTS_MAX) {
		rc = rp_err_set(e, RP_EFORMAT, "reports: %s: size %lld is not a whole "
				"number of records", path, (long long)st.st_size);
		goto out;
	} else {
		nslots = (uint32_t)((uint64_t)st.st_size / RP_REPORT_LEN);
	}
	for (i = 0; i < nslots; i++) {
		if ((rc = rp_pread_full(fd, rec, sizeof(rec), i * RP_REPORT_LEN, e))) {
			rp_err_prefix(e, "reports: %s", path);
			goto out;
		}
		if (rp_report_decode(rec, &r, &ignore) == 0 && r.seq > max &&
		    (r.seq - 1) % nslots == i)
			max = r.seq;
	}
	out->fd = fd;
	out->nslots = nslots;
	out->next_seq = max + 1;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int rp_reports_append(struct rp_reports *s, struct rp_report *r,
		      struct rp_err *e)
{
	uint8_t rec[RP_REPORT_LEN];
	uint64_t slot;
	ssize_t w;

	if (s->fd < 0)
		return rp_err_set(e, RP_EUSAGE, "reports: store is not open");
	r->seq = s->next_seq;
	slot = (r->seq - 1) % s->nslots;
	rp_report_encode(r, rec);
	do
		w = pwrite(s->fd, rec, sizeof(rec), (off_t)(slot * RP_REPORT_LEN));
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return rp_err_errno(e, errno, "reports: write");
	if ((size_t)w != sizeof(rec))
		return rp_err_set(e, RP_EIO, "reports: short write");
	if (fdatasync(s->fd) < 0)
		return rp_err_errno(e, errno, "reports: fdatasync");
	s->next_seq++;
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct rp_report *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int rp_reports_read(struct rp_reports *s, struct rp_report **out, size_t *n,
		    struct rp_err *e)
{
	struct rp_report *all = NULL;
	uint8_t rec[RP_REPORT_LEN];
	struct rp_err ignore;
	size_t k = 0;
	uint32_t i;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (s->fd < 0)
		return rp_err_set(e, RP_EUSAGE, "reports: store is not open");
	all = calloc(s->nslots, sizeof(*all));
	if (!all)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	for (i = 0; i < s->nslots; i++) {
		if ((rc = rp_pread_full(s->fd, rec, sizeof(rec),
					(uint64_t)i * RP_REPORT_LEN, e))) {
			rp_err_prefix(e, "reports");
			goto out;
		}
		/* Only a record in its own slot, and not from a "future"
		 * numbering, counts. */
		if (rp_report_decode(rec, &all[k], &ignore) == 0 &&
		    (all[k].seq - 1) % s->nslots == i && all[k].seq < s->next_seq)
			k++;
	}
	qsort(all, k, sizeof(*all), by_seq);
	*out = all;
	*n = k;
	all = NULL;
out:
	free(all);
	return rc;
}

void rp_reports_close(struct rp_reports *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static const char *signame(int sig)
{
	switch (sig) {
	case 1: return "SIGHUP";
	case 2: return "SIGINT";
	case 3: return "SIGQUIT";
	case 4: return "SIGILL";
	case 5: return "SIGTRAP";
	case 6: return "SIGABRT";
	case 7: return "SIGBUS";
	case 8: return "SIGFPE";
	case 9: return "SIGKILL";
	case 10: return "SIGUSR1";
	case 11: return "SIGSEGV";
	case 12: return "SIGUSR2";
	case 13: return "SIGPIPE";
	case 14: return "SIGALRM";
	case 15: return "SIGTERM";
	case 31: return "SIGSYS";
	default: return "signal";
	}
}

/* Text fields come from signed manifests and the runtime; keep the
 * description one line of printable ASCII whatever they hold. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == ';' || *s == ',' || *s == '"')
			*s = '_';
}

void rp_report_describe(const struct rp_report *r, char *out, size_t cap)
{
	char id[37], name[RP_REPORT_NAME_LEN + 1], ver[RP_REPORT_VERSION_LEN + 1];
	char detail[RP_REPORT_DETAIL_LEN + 1], what[64 + RP_REPORT_DETAIL_LEN];

	if (cap == 0)
		return;
	rp_guid_format(r->component_id, id);
	memcpy(name, r->name, sizeof(name));
	memcpy(ver, r->version, sizeof(ver));
	memcpy(detail, r->detail, sizeof(detail));
	sanitize(name);
	sanitize(ver);
	sanitize(detail);
	switch (r->kind) {
	case RP_EXIT_CODE:
		snprintf(what, sizeof(what), "%s: exit_code=%d",
			 r->type == RP_EVENT_PLANNED ? "AppStop" : "AppExit",
			 (int)r->status);
		break;
	case RP_EXIT_SIGNAL:
		snprintf(what, sizeof(what), "%s: signal=%d (%s)",
			 r->type == RP_EVENT_PLANNED ? "AppStop" : "AppCrash",
			 (int)r->status, signame((int)r->status));
		break;
	case RP_EXIT_REQUEST:
		snprintf(what, sizeof(what), "AppRequest: %s", detail);
		detail[0] = '\0';
		break;
	case RP_EXIT_START:
	default:
		snprintf(what, sizeof(what), "AppStartFailed: %s", detail);
		detail[0] = '\0';
		break;
	}
	snprintf(out, cap, "%s; component_id=%s; name=%s; image_version=%s%s%s",
		 what, id, name, ver, detail[0] ? "; detail=" : "", detail);
}

static int by_end_desc(const void *a, const void *b)
{
	const struct rp_report_agg *x = a, *y = b;

	return x->end > y->end ? -1 : x->end < y->end;
}

int rp_reports_aggregate(const struct rp_report *r, size_t n,
			 struct rp_report_agg **out, size_t *nout,
			 struct rp_err *e)
{
	struct rp_report_agg *rows = NULL, cur;
	size_t k = 0, i, j, first;

	*out = NULL;
	*nout = 0;
	first = n > RP_REPORTS_QUERY_MAX ? n - RP_REPORTS_QUERY_MAX : 0;
	if (n - first > 0) {
		rows = calloc(n - first, sizeof(*rows));
		if (!rows)
			return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	for (i = first; i < n; i++) {
		memset(&cur, 0, sizeof(cur));
		cur.event_type = r[i].type == RP_EVENT_PLANNED ? "Planned" : "Unplanned";
		cur.event_class = r[i].cls == RP_CLASS_OS ? "OS" : "Application";
		rp_report_describe(&r[i], cur.description, sizeof(cur.description));
		memcpy(cur.component_id, r[i].component_id, 16);
		for (j = 0; j < k; j++)
			if (rows[j].event_type == cur.event_type &&
			    rows[j].event_class == cur.event_class &&
			    strcmp(rows[j].description, cur.description) == 0)
				break;
		if (j == k) {
			cur.count = 0;
			cur.start = r[i].time;
			cur.end = r[i].time;
			rows[k++] = cur;
		}
		rows[j].count++;
		if (r[i].time < rows[j].start)
			rows[j].start = r[i].time;
		if (r[i].time > rows[j].end)
			rows[j].end = r[i].time;
	}
	if (k > 1)
		qsort(rows, k, sizeof(*rows), by_end_desc);
	*out = rows;
	*nout = k;
	return 0;
}

void rp_time_iso(uint64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = t > (uint64_t)INT64_MAX ? (time_t)INT64_MAX : (time_t)t;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%llu", (unsigned long long)t);
}
