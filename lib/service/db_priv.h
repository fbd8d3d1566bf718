/* The backend seam of lib/service/db: each backend is a file that fills
 * these operations (db_sqlite.c, db_pg.c). */
#ifndef RP_SERVICE_DB_PRIV_H
#define RP_SERVICE_DB_PRIV_H

#include "service/db.h"

struct db_ops {
	const char *kind;
	/* What opens a transaction that will write. */
	const char *begin;
	int (*open)(const char *target, void **conn, struct rp_err *e);
	void (*close)(void *conn);
	/* Run constant SQL text that may hold several statements, no rows. */
	int (*script)(void *conn, const char *sql, struct rp_err *e);
	/* keep: the statement will be run many times (the statement cache
	 * holds it): SQLite prepares it persistent, PostgreSQL prepares it
	 * on the server (PQprepare) rather than per run. */
	int (*prepare)(void *conn, const char *sql, int keep, void **st,
		       struct rp_err *e);
	/* Make a run statement ready to run again: no result, no bindings. */
	void (*reset)(void *st);
	int (*bind_text)(void *st, int idx, const char *s);
	int (*bind_int)(void *st, int idx, int64_t v);
	int (*step)(void *st, struct rp_err *e);
	const char *(*text)(void *st, int col);
	int64_t (*integer)(void *st, int col);
	int (*changes)(void *conn, void *st);
	void (*finalize)(void *st);
};

extern const struct db_ops rp_db_sqlite_ops;
extern const struct db_ops rp_db_pg_ops;

/* The migrations, oldest first: migration i brings the schema to i + 1. */
extern const char *const rp_schema_migrations[];
extern const int rp_schema_count;

#endif
