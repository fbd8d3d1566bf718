/* The SQLite backend: one file, WAL, synchronous=FULL, foreign keys on. */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "service/db_priv.h"

static int fail(sqlite3 *h, int src, struct rp_err *e)
{
	int x = sqlite3_extended_errcode(h);

	if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY)
		return rp_err_set(e, -EEXIST, "already exists");
	if (x == SQLITE_CONSTRAINT_FOREIGNKEY)
		return rp_err_set(e, -ENOENT, "refers to something that does not exist");
	if (src == SQLITE_NOMEM)
		return rp_err_set(e, RP_ENOMEM, "sqlite: out of memory");
	return rp_err_set(e, RP_EIO, "sqlite: %s", sqlite3_errmsg(h));
}

static int lite_script(void *conn, const char *sql, struct rp_err *e)
{
	int rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(conn, rc, e);
}

static void lite_close(void *conn)
{
	sqlite3_close_v2(conn);
}

static int lite_open(const char *path, void **conn, struct rp_err *e)
{
	sqlite3 *h = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		rc = h ? rp_err_set(e, RP_EIO, "sqlite: %s: %s", path, sqlite3_errmsg(h))
		       : rp_err_set(e, RP_ENOMEM, "sqlite: out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(h, 1);
	/* Readers (GETs) never wait on the writer, and a commit is on disk
	 * (WAL fsynced) before the API answers. */
	rc = lite_script(h, "PRAGMA journal_mode=WAL;"
			    "PRAGMA synchronous=FULL;"
			    "PRAGMA foreign_keys=ON;"
			    "PRAGMA busy_timeout=5000;"
			    "PRAGMA trusted_schema=OFF;", e);
	if (rc)
		goto out;
	*conn = h;
	h = NULL;
out:
	if (h)
		sqlite3_close_v2(h);
	return rc;
}

static int lite_prepare(void *conn, const char *sql, int keep, void **st,
			struct rp_err *e)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v3(conn, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0,
				    &s, NULL);

	if (rc != SQLITE_OK)
		return fail(conn, rc, e);
	*st = s;
	return 0;
}

static int lite_bind_text(void *st, int idx, const char *s)
{
	int rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT)
		   : sqlite3_bind_null(st, idx);

	return rc == SQLITE_OK ? 0 : RP_EINVAL;
}

static int lite_bind_int(void *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st, idx, v) == SQLITE_OK ? 0 : RP_EINVAL;
}

static int lite_step(void *st, struct rp_err *e)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return fail(sqlite3_db_handle(st), rc, e);
}

static const char *lite_text(void *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}

static int64_t lite_int(void *st, int col)
{
	return sqlite3_column_int64(st, col);
}

static int lite_changes(void *conn, void *st)
{
	(void)st;
	return sqlite3_changes(conn);
}

static void lite_reset(void *st)
{
	/* reset answers the last step's error again: already reported. */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

static void lite_finalize(void *st)
{
	sqlite3_finalize(st);
}

const struct db_ops rp_db_sqlite_ops = {
	.kind = "sqlite",
	/* Take the write lock at once (waiting up to busy_timeout): a
	 * deferred transaction that reads first and then writes fails with
	 * SQLITE_BUSY, without waiting, when another connection (another
	 * worker) committed in between. */
	.begin = "BEGIN IMMEDIATE",
	.open = lite_open,
	.close = lite_close,
	.script = lite_script,
	.prepare = lite_prepare,
	.reset = lite_reset,
	.bind_text = lite_bind_text,
	.bind_int = lite_bind_int,
	.step = lite_step,
	.text = lite_text,
	.integer = lite_int,
	.changes = lite_changes,
	.finalize = lite_finalize,
};
