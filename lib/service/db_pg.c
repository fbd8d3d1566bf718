/* The PostgreSQL backend over libpq. The SQL text is constant (its `?`
 * rewritten to `$n`) and every value travels as a separate parameter,
 * never inside the text: statements the cache keeps (db.c) are prepared
 * once per connection on the server (PQprepare, named rp_<n>) and run
 * with PQexecPrepared, so they are parsed and planned once; others run
 * with PQexecParams. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"
#include "service/db_priv.h"

/* A connection and the counter that names its prepared statements. */
struct pgconn {
	PGconn *c;
	uint64_t next;
};

struct pgst {
	PGconn *conn;
	char name[32];       /* the server-side statement; "" when unnamed */
	char *sql;           /* with $n placeholders */
	int nparams;
	char *params[RP_DB_PARAMS_MAX];
	PGresult *res;
	int row, nrows;
	int ran;
};

static int pgfail(PGconn *c, PGresult *r, struct rp_err *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	size_t n;

	if (state && strcmp(state, "23505") == 0)
		return rp_err_set(e, -EEXIST, "already exists");
	if (state && strcmp(state, "23503") == 0)
		return rp_err_set(e, -ENOENT, "refers to something that does not exist");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return rp_err_set(e, RP_EIO, "postgresql: %.*s", (int)n, msg);
}

static int script(PGconn *c, const char *sql, struct rp_err *e)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pgfail(c, r, e);
	PQclear(r);
	return rc;
}

static int pg_script(void *conn, const char *sql, struct rp_err *e)
{
	return script(((struct pgconn *)conn)->c, sql, e);
}

static void pg_close(void *conn)
{
	struct pgconn *pc = conn;

	if (!pc)
		return;
	PQfinish(pc->c);
	free(pc);
}

static int pg_open(const char *url, void **conn, struct rp_err *e)
{
	struct pgconn *pc = calloc(1, sizeof(*pc));
	int rc;

	if (!pc)
		return rp_err_set(e, RP_ENOMEM, "postgresql: out of memory");
	pc->c = PQconnectdb(url);
	if (!pc->c) {
		free(pc);
		return rp_err_set(e, RP_ENOMEM, "postgresql: out of memory");
	}
	if (PQstatus(pc->c) != CONNECTION_OK) {
		rc = pgfail(pc->c, NULL, e);
		pg_close(pc);
		return rc;
	}
	/* Quiet NOTICEs (CREATE ... IF NOT EXISTS) and serialisable-enough
	 * defaults; the schema lives in the connection's default schema. */
	rc = script(pc->c, "SET client_min_messages TO WARNING", e);
	if (rc) {
		pg_close(pc);
		return rc;
	}
	*conn = pc;
	return 0;
}

static void pg_finalize(void *p);

static int pg_prepare(void *conn, const char *sql, int keep, void **out,
		      struct rp_err *e)
{
	struct pgconn *pc = conn;
	struct pgst *st = calloc(1, sizeof(*st));
	PGresult *r;
	int rc;
	size_t len = strlen(sql), i, o = 0;
	int n = 0;

	if (!st)
		return rp_err_set(e, RP_ENOMEM, "postgresql: out of memory");
	/* Each `?` becomes `$n`: at most 3 bytes for n <= 16. The SQL is the
	 * program's constant text, so a `?` is always a placeholder. */
	st->sql = malloc(len * 3 + 1);
	if (!st->sql) {
		free(st);
		return rp_err_set(e, RP_ENOMEM, "postgresql: out of memory");
	}
	for (i = 0; i < len; i++) {
		if (sql[i] != '?') {
			st->sql[o++] = sql[i];
			continue;
		}
		if (++n > RP_DB_PARAMS_MAX) {
			free(st->sql);
			free(st);
			return rp_err_set(e, RP_EUSAGE, "postgresql: too many parameters");
		}
		o += (size_t)snprintf(st->sql + o, 4, "$%d", n);
	}
	st->sql[o] = '\0';
	st->nparams = n;
	st->conn = pc->c;
	if (keep) {
		/* Names are never reused on a connection, so one whose
		 * DEALLOCATE failed can never clash with a new one. */
		snprintf(st->name, sizeof(st->name), "rp_%llu",
			 (unsigned long long)++pc->next);
		r = PQprepare(pc->c, st->name, st->sql, n, NULL);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = pgfail(pc->c, r, e);
			PQclear(r);
			st->name[0] = '\0';
			pg_finalize(st);
			return rc;
		}
		PQclear(r);
	}
	*out = st;
	return 0;
}

static int pg_bind_text(void *p, int idx, const char *s)
{
	struct pgst *st = p;
	char *copy = NULL;

	if (idx > st->nparams)
		return RP_EUSAGE;
	if (s && !(copy = strdup(s)))
		return RP_ENOMEM;
	free(st->params[idx - 1]);
	st->params[idx - 1] = copy;
	return 0;
}

static int pg_bind_int(void *p, int idx, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	return pg_bind_text(p, idx, num);
}

static int pg_step(void *p, struct rp_err *e)
{
	struct pgst *st = p;
	ExecStatusType s;

	if (!st->ran) {
		st->ran = 1;
		st->res = st->name[0]
			  ? PQexecPrepared(st->conn, st->name, st->nparams,
					   (const char *const *)st->params, NULL, NULL, 0)
			  : PQexecParams(st->conn, st->sql, st->nparams, NULL,
					 (const char *const *)st->params, NULL, NULL, 0);
		s = st->res ? PQresultStatus(st->res) : PGRES_FATAL_ERROR;
		if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
			return pgfail(st->conn, st->res, e);
		st->nrows = s == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
		st->row = 0;
	} else {
		st->row++;
	}
	return st->row < st->nrows ? 0 : 1;
}

static const char *pg_text(void *p, int col)
{
	struct pgst *st = p;

	if (!st->res || st->row >= st->nrows || col >= PQnfields(st->res))
		return "";
	return PQgetvalue(st->res, st->row, col);
}

static int64_t pg_int(void *p, int col)
{
	const char *t = pg_text(p, col);
	uint64_t v = 0;

	/* Our integers are times and counters: never negative. */
	if (rp_parse_u64z(t, INT64_MAX, &v))
		return 0;
	return (int64_t)v;
}

static int pg_changes(void *conn, void *p)
{
	struct pgst *st = p;
	const char *t;
	uint64_t v = 0;

	(void)conn;
	if (!st->res)
		return 0;
	t = PQcmdTuples(st->res);
	if (!t || !*t || rp_parse_u64z(t, INT32_MAX, &v))
		return 0;
	return (int)v;
}

static void pg_reset(void *p)
{
	struct pgst *st = p;
	int i;

	PQclear(st->res);
	st->res = NULL;
	for (i = 0; i < RP_DB_PARAMS_MAX; i++) {
		free(st->params[i]);
		st->params[i] = NULL;
	}
	st->ran = 0;
	st->row = 0;
	st->nrows = 0;
}

static void pg_finalize(void *p)
{
	struct pgst *st = p;
	char sql[48];
	struct rp_err ignored;

	if (!st)
		return;
	pg_reset(st);
	/* A failure (an aborted transaction, a lost connection) only leaves
	 * the server a statement that dies with the session. */
	if (st->name[0]) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		(void)script(st->conn, sql, &ignored);
	}
	free(st->sql);
	free(st);
}

const struct db_ops rp_db_pg_ops = {
	.kind = "postgresql",
	.begin = "BEGIN",
	.open = pg_open,
	.close = pg_close,
	.script = pg_script,
	.prepare = pg_prepare,
	.reset = pg_reset,
	.bind_text = pg_bind_text,
	.bind_int = pg_bind_int,
	.step = pg_step,
	.text = pg_text,
	.integer = pg_int,
	.changes = pg_changes,
	.finalize = pg_finalize,
};
