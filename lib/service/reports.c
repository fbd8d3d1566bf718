/* The error reports devices sent at check-in, as operators read them:
 * aggregated, filtered, as JSON or as Azure Sphere's CSV. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "service/device.h"
#include "service/model_priv.h"

#define CSV_HEADER \
	"Device ID,Event Type,Event Class,Event Count,Description,Start Time,End Time\n"

/* One CSV cell: quoted (RFC 4180) when it holds a comma, quote or line
 * break; a cell a spreadsheet would take for a formula gets a leading
 * apostrophe (the text came from a device). */
static int csv_cell(struct rp_buf *b, const char *s, int last)
{
	int quote = strpbrk(s, ",\"\r\n") != NULL;
	const char *p;
	int rc = 0;

	if (quote)
		rc = rp_buf_append(b, "\"", 1);
	if (!rc && strchr("=+-@", s[0]) && s[0])
		rc = rp_buf_append(b, "'", 1);
	for (p = s; !rc && *p; p++)
		rc = *p == '"' ? rp_buf_append(b, "\"\"", 2) : rp_buf_append(b, p, 1);
	if (!rc && quote)
		rc = rp_buf_append(b, "\"", 1);
	if (!rc)
		rc = rp_buf_append(b, last ? "\n" : ",", 1);
	return rc;
}

static void iso(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

static int csv_row(struct rp_buf *b, struct rp_stmt *st)
{
	char count[24], start[32], end[32];

	snprintf(count, sizeof(count), "%lld", (long long)rp_stmt_int(st, 7));
	iso(rp_stmt_int(st, 9), start);
	iso(rp_stmt_int(st, 10), end);
	if (csv_cell(b, rp_stmt_text(st, 0), 0) || csv_cell(b, rp_stmt_text(st, 5), 0) ||
	    csv_cell(b, rp_stmt_text(st, 6), 0) || csv_cell(b, count, 0) ||
	    csv_cell(b, rp_stmt_text(st, 8), 0) || csv_cell(b, start, 0) ||
	    csv_cell(b, end, 1))
		return RP_ENOMEM;
	return 0;
}

static json_t *json_row(struct rp_stmt *st)
{
	const char *prod = rp_stmt_text(st, 1), *group = rp_stmt_text(st, 2);

	return json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o}",
			 "device_id", rp_stmt_text(st, 0),
			 "product", prod[0] ? prod : NULL,
			 "device_group", group[0] ? group : NULL,
			 "component_id", rp_stmt_text(st, 3),
			 "app_name", rp_stmt_text(st, 4),
			 "event_type", rp_stmt_text(st, 5),
			 "event_class", rp_stmt_text(st, 6),
			 "event_count", (json_int_t)rp_stmt_int(st, 7),
			 "description", rp_stmt_text(st, 8),
			 "start_time", rp_model_time_json(rp_stmt_int(st, 9)),
			 "end_time", rp_model_time_json(rp_stmt_int(st, 10)));
}

int rp_reports_list(struct rp_model *m, const struct rp_principal *p,
		    const char *tenant, const struct rp_api_report_query *q,
		    json_t **out, struct rp_buf *csv, struct rp_err *e)
{
	char since[24], until[24];
	const char *params[9];
	struct rp_stmt *st = NULL;
	json_t *rows = NULL, *o;
	size_t n = 0;
	int rc, i;

	rp_buf_init(csv, RP_REPORTS_CSV_MAX);
	rc = rp_model_access(m, p, tenant, RP_ROLE_READER, e);
	if (rc)
		return rc;
	snprintf(since, sizeof(since), "%lld", (long long)(q->since >= 0 ? q->since :
			(int64_t)time(NULL) - RP_REPORTS_WINDOW));
	snprintf(until, sizeof(until), "%lld", (long long)(q->until >= 0 ? q->until :
			RP_JSON_INT_MAX));
	params[0] = tenant;
	params[1] = since;
	params[2] = until;
	params[3] = q->product;
	params[4] = q->product;
	params[5] = q->device_group;
	params[6] = q->device_group;
	params[7] = q->device;
	params[8] = q->device;
	rows = json_array();
	if (!rows || (q->csv && rp_buf_append(csv, CSV_HEADER, strlen(CSV_HEADER)))) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	/* Constant text; the optional filters are "? = '' OR column = ?". */
	rc = rp_db_prepare(m->db, "SELECT r.device_id, COALESCE(d.product_id, ''),"
			   " COALESCE(d.group_id, ''), r.component_id, MAX(r.app_name),"
			   " r.event_type, r.event_class, COUNT(*), r.description,"
			   " MIN(r.event_time), MAX(r.event_time)"
			   " FROM error_reports r JOIN devices d ON d.id = r.device_id"
			   " WHERE r.tenant_id = ? AND r.event_time >= ? AND r.event_time <= ?"
			   " AND (? = '' OR d.product_id = ?) AND (? = '' OR d.group_id = ?)"
			   " AND (? = '' OR r.device_id = ?)"
			   " GROUP BY r.device_id, d.product_id, d.group_id, r.component_id,"
			   " r.event_type, r.event_class, r.description"
			   " ORDER BY MAX(r.event_time) DESC, r.device_id, r.component_id"
			   " LIMIT 1000", &st, e);
	for (i = 0; rc == 0 && i < 9; i++)
		if (rp_stmt_bind_text(st, i + 1, params[i]))
			rc = rp_err_set(e, RP_ENOMEM, "binding failed");
	while (rc == 0 && (rc = rp_stmt_step(st, e)) == 0 && n++ < RP_REPORTS_LIST_MAX) {
		if (q->csv) {
			if (csv_row(csv, st))
				rc = rp_err_set(e, RP_ENOMEM, "the listing is too large");
			continue;
		}
		o = json_row(st);
		if (!o || json_array_append_new(rows, o))
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (q->csv) {
		if (rp_buf_cstr(csv))
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	*out = json_pack("{s:O}", "error_reports", rows);
	if (!*out)
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
out:
	rp_stmt_free(st);
	json_decref(rows);
	if (rc)
		rp_buf_free(csv);
	return rc;
}
