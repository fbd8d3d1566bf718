/* rampart error-report list|download: the error reports devices sent the
 * security service, aggregated by it (docs/formats/error-reports.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/num.h"
#include "cli.h"
#include "remote.h"

#define CSV_MAX (256u * 1024 * 1024)
#define TIME_MAX 253402300799ull /* 9999-12-31T23:59:59Z */
static const char csv_head[] =
	"Device ID,Event Type,Event Class,Event Count,Description,Start Time,End Time";

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* A fixed-width field of exactly n digits ("09"), from lo to hi. */
static int field(const char *s, size_t off, size_t n, uint64_t lo, uint64_t hi,
		 uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[off + i] < '0' || s[off + i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[off + i] - '0');
	}
	*out = v;
	return v >= lo && v <= hi ? 0 : -1;
}

/* ISO 8601 UTC ("2026-11-25T09:27:28Z", "2026-11-25"), Unix seconds, or an
 * age ("90s", "30m", "24h", "7d", "2w") before now. */
static int parse_time(const char *opt, const char *s, uint64_t now, uint64_t *out,
		      struct rp_err *e)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t n = strlen(s);
	uint64_t y, mo, d, hh = 0, mi = 0, ss = 0, v, mult;
	char last = n ? s[n - 1] : '\0';
	char shown[RP_SHOW_BUF];

	if (n && rp_parse_u64z(s, TIME_MAX, out) == 0)
		return 0;
	if (n >= 2 && n <= 12 && (last == 's' || last == 'm' || last == 'h' ||
				  last == 'd' || last == 'w')) {
		mult = last == 's' ? 1 : last == 'm' ? 60 : last == 'h' ? 3600
		     : last == 'd' ? 86400 : 604800;
		if (rp_parse_u64(s, n - 1, TIME_MAX / mult, &v) == 0) {
			*out = v * mult > now ? 0 : now - v * mult;
			return 0;
		}
	}
	if ((n == 10 || (n == 20 && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
			 s[19] == 'Z')) && s[4] == '-' && s[7] == '-' &&
	    field(s, 0, 4, 1970, 9999, &y) == 0 && field(s, 5, 2, 1, 12, &mo) == 0 &&
	    field(s, 8, 2, 1, mdays[mo - 1], &d) == 0 &&
	    (mo != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) &&
	    (n == 10 || (field(s, 11, 2, 0, 23, &hh) == 0 && field(s, 14, 2, 0, 59, &mi) == 0 &&
			 field(s, 17, 2, 0, 59, &ss) == 0))) {
		*out = (uint64_t)days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) * 86400u +
		       hh * 3600u + mi * 60u + ss;
		return 0;
	}
	return rp_err_set(e, RP_EUSAGE, "%s: '%s' is not a time: give ISO 8601 UTC "
			  "(2026-11-25T09:27:28Z or 2026-11-25), Unix seconds or an "
			  "age (30m, 24h, 7d)", opt, rp_show(s, shown));
}

static int query_add(struct rp_buf *q, const char *key, const char *val,
		     struct rp_err *e)
{
	char esc[512];
	int rc;

	rc = cli_http_escape(val, esc, sizeof(esc), e);
	if (rc)
		return rp_err_prefix(e, "%s", key);
	if (rp_buf_printf(q, "%c%s=%s", q->len ? '&' : '?', key, esc))
		return rp_err_set(e, RP_EUSAGE, "request path too long");
	return 0;
}

/* The route with the filters as its query. */
static int reports_path(struct cli_http *h, struct remote_args *a, struct rp_buf *out,
			struct rp_err *e)
{
	char prod[REMOTE_ID_MAX] = "", group[REMOTE_ID_MAX] = "", num[24], path[256];
	struct rp_buf q;
	uint64_t since = 0, until = 0, now = (uint64_t)time(NULL);
	int rc;

	rp_buf_init(&q, 1024);
	if (a->since && (rc = parse_time("--since", a->since, now, &since, e)))
		goto out;
	if (a->until && (rc = parse_time("--until", a->until, now, &until, e)))
		goto out;
	if (a->since && a->until && since > until) {
		rc = rp_err_set(e, RP_EUSAGE, "--since is after --until");
		goto out;
	}
	if (a->group) {
		rc = remote_group(h, a->tenant, a->product, a->group, prod, group, e);
		if (rc) {
			if (e->code != RP_EUSAGE)
				rp_err_prefix(e, "--device-group");
			goto out;
		}
	} else if (a->product) {
		rc = remote_product(h, a->tenant, a->product, prod, e);
		if (rc) {
			if (e->code != RP_EUSAGE)
				rp_err_prefix(e, "--product");
			goto out;
		}
	}
	rc = 0;
	if (prod[0])
		rc = query_add(&q, "product", prod, e);
	if (!rc && group[0])
		rc = query_add(&q, "device_group", group, e);
	if (!rc && a->device)
		rc = query_add(&q, "device", a->device, e);
	if (!rc && a->since) {
		snprintf(num, sizeof(num), "%" PRIu64, since);
		rc = query_add(&q, "since", num, e);
	}
	if (!rc && a->until) {
		snprintf(num, sizeof(num), "%" PRIu64, until);
		rc = query_add(&q, "until", num, e);
	}
	if (!rc)
		rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/error-reports",
				 a->tenant);
	if (rc)
		goto out;
	rp_buf_init(out, 2048);
	if (rp_buf_printf(out, "%s%s", path, q.len ? (const char *)q.data : "")) {
		rp_buf_free(out);
		rc = rp_err_set(e, RP_EUSAGE, "request path too long");
	}
out:
	rp_buf_free(&q);
	return rc;
}

static const struct remote_col report_cols[] = {
	{ "device_id", "DEVICE ID", 64 }, { "app_name", "APP", 24 },
	{ "event_type", "EVENT TYPE", 0 }, { "event_class", "EVENT CLASS", 0 },
	{ "event_count", "COUNT", 0 }, { "description", "DESCRIPTION", 48 },
	{ "start_time", "START TIME", 0 }, { "end_time", "END TIME", 0 },
	{ NULL, NULL, 0 },
};

static int report_list(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	struct rp_buf path = { 0 };
	json_t *doc = NULL, *rows;
	int rc;

	rc = reports_path(h, a, &path, e);
	if (!rc)
		rc = remote_request(h, "GET", (const char *)path.data, NULL, &doc, e);
	rp_buf_free(&path);
	if (rc)
		return rc;
	if (a->json)
		return remote_output(doc, 1, NULL, e);
	rows = json_object_get(doc, "error_reports");
	if (!json_is_array(rows)) {
		json_decref(doc);
		return rp_err_set(e, RP_EFORMAT, "the answer has no \"error_reports\" array");
	}
	json_incref(rows);
	json_decref(doc);
	return remote_output(rows, 0, report_cols, e);
}

static int report_download(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char part[4096], head[sizeof(csv_head) + 1];
	struct cli_http_xfer x;
	struct rp_buf path = { 0 };
	struct stat st;
	int fd = -1, rc, n;

	cli_http_xfer_init(&x);
	n = snprintf(part, sizeof(part), "%s.part", a->out);
	if (n < 0 || (size_t)n >= sizeof(part))
		return rp_err_set(e, RP_EUSAGE, "%s: path too long", a->out);
	if (!a->force && lstat(a->out, &st) == 0)
		return rp_err_errno(e, EEXIST, "%s (give --force to replace it)", a->out);
	rc = reports_path(h, a, &path, e);
	if (rc)
		goto out;
	fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		rc = rp_err_errno(e, errno, "%s", part);
		goto out;
	}
	x.accept = "text/csv";
	x.download_fd = fd;
	x.max = CSV_MAX;
	rc = cli_http_xfer(h, "GET", (const char *)path.data, NULL, &x, e);
	if (rc)
		goto out;
	if (x.status < 200 || x.status > 299) {
		rc = remote_status_err(x.status, x.json, e);
		goto out;
	}
	/* Azure Sphere's columns, or it is not the report. */
	memset(head, 0, sizeof(head));
	if (x.end < sizeof(csv_head) - 1 ||
	    pread(fd, head, sizeof(csv_head), 0) < (ssize_t)sizeof(csv_head) - 1 ||
	    memcmp(head, csv_head, sizeof(csv_head) - 1) != 0 ||
	    (head[sizeof(csv_head) - 1] != '\r' && head[sizeof(csv_head) - 1] != '\n')) {
		rc = rp_err_set(e, RP_EFORMAT, "the server's answer does not start with "
				"the CSV header \"%s\"", csv_head);
		goto out;
	}
	if (fsync(fd) != 0) {
		rc = rp_err_errno(e, errno, "%s", part);
		goto out;
	}
	if (a->force ? rename(part, a->out) != 0
		     : renameat2(AT_FDCWD, part, AT_FDCWD, a->out, RENAME_NOREPLACE) != 0) {
		rc = rp_err_errno(e, errno, "%s", a->out);
		goto out;
	}
	close(fd);
	fd = -1;
	printf("%s: %" PRIu64 " bytes of CSV\n", a->out, x.end);
	if (fflush(stdout) != 0)
		rc = rp_err_set(e, RP_EIO, "writing output failed");
out:
	if (fd >= 0) {
		close(fd);
		(void)unlink(part);
	}
	json_decref(x.json);
	rp_buf_free(&path);
	return rc;
}

#define FILTERS (RO_PRODUCT | RO_GROUP | RO_DEVICE | RO_SINCE | RO_UNTIL)

static const struct remote_verb report_verbs[] = {
	{ "error-report", "list", FILTERS | RO_JSON, 0, 0, 0,
	  "[--product P] [--device-group G] [--device D] [--since T] [--until T] [--json]",
	  "List the error reports devices sent (Reader), aggregated per device,\n"
	  "app, event and description over the window, newest first.\n", report_list },
	{ "error-report", "download", FILTERS | RO_CSV | RO_OUT | RO_FORCE, RO_OUT, 0, 0,
	  "--csv -o FILE [--product P] [--device-group G] [--device D] [--since T] "
	  "[--until T] [--force]",
	  "Write the same rows as CSV with Azure Sphere's columns: Device ID,\n"
	  "Event Type, Event Class, Event Count, Description, Start Time, End\n"
	  "Time.\n", report_download },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

int cmd_error_report(int argc, char **argv)
{
	return remote_dispatch("error-report", report_verbs, argc, argv);
}
