/* Storage for rampart-server: one small interface over SQLite (the default)
 * and PostgreSQL (for fleets that outgrow one machine).
 *
 * SQL reaches the database only as constant text with `?` placeholders and
 * bound parameters; nothing read from a request is ever spliced into SQL.
 * The PostgreSQL backend rewrites `?` to `$1, $2, ...`, so the same text
 * runs on both. The schema is versioned (lib/service/schema.c).
 *
 * Errors: 0 or a negative code. A uniqueness violation is -EEXIST, a
 * foreign-key violation -ENOENT; anything else from the database is RP_EIO
 * with the database's message in e. One connection is used by one thread. */
#ifndef RP_SERVICE_DB_H
#define RP_SERVICE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define RP_DB_PARAMS_MAX 16 /* bound parameters per statement */
#define RP_DB_STMT_CACHE 64 /* prepared statements kept per connection */

struct rp_db;   /* a connection; rp_db_close */
struct rp_stmt; /* a prepared statement; rp_stmt_free */

/* Open by URL: `postgresql://...` (or `postgres://`) uses libpq; `sqlite:PATH`
 * or a plain PATH opens SQLite with WAL, synchronous=FULL (an acknowledged
 * commit survives a crash) and foreign keys on. The schema is not touched:
 * call rp_db_migrate. *out is owned by the caller. */
int rp_db_open(const char *url, struct rp_db **out, struct rp_err *e) RP_WUR;
/* Accepts NULL. */
void rp_db_close(struct rp_db *db);
/* "sqlite" or "postgresql". */
const char *rp_db_kind(const struct rp_db *db);

/* Bring the schema up to the newest version, each migration in its own
 * transaction; a database newer than this program is refused. *version
 * (may be NULL) gets the resulting version. */
int rp_db_migrate(struct rp_db *db, int *version, struct rp_err *e) RP_WUR;
/* The newest schema version this program knows. */
int rp_db_schema_latest(void);

/* Transactions. rp_db_rollback is safe to call on any path after begin. */
int rp_db_begin(struct rp_db *db, struct rp_err *e) RP_WUR;
int rp_db_commit(struct rp_db *db, struct rp_err *e) RP_WUR;
void rp_db_rollback(struct rp_db *db);

/* Prepare constant SQL text with `?` placeholders (at most
 * RP_DB_PARAMS_MAX). The text must be a string literal of the program.
 * Statements are kept per connection (at most RP_DB_STMT_CACHE, the least
 * recently used dropped; keyed by the text's address and confirmed by the
 * text): the first prepare of a text parses and plans it (SQLite
 * persistent statements, PostgreSQL server-side prepared statements), the
 * next ones borrow it until rp_stmt_free, which resets it and clears its
 * bindings. A text whose statement is already borrowed (nested use) is
 * prepared for that one use. */
int rp_db_prepare(struct rp_db *db, const char *sql, struct rp_stmt **out,
		  struct rp_err *e) RP_WUR;
/* Bind parameter idx (1-based). Text is copied; NULL binds SQL NULL. */
int rp_stmt_bind_text(struct rp_stmt *st, int idx, const char *s) RP_WUR;
int rp_stmt_bind_int(struct rp_stmt *st, int idx, int64_t v) RP_WUR;
/* Run or advance: 0 a row is available, 1 done, negative error. */
int rp_stmt_step(struct rp_stmt *st, struct rp_err *e) RP_WUR;
/* Columns of the current row (0-based). Text is valid until the next step
 * or free; SQL NULL reads as "" / 0. */
const char *rp_stmt_text(struct rp_stmt *st, int col);
int64_t rp_stmt_int(struct rp_stmt *st, int col);
/* Accepts NULL. */
void rp_stmt_free(struct rp_stmt *st);

/* Prepare, bind n text parameters, step once and free: for statements that
 * return no rows (INSERT/UPDATE/DELETE). *changed (may be NULL) gets 1 if
 * at least one row was affected. */
int rp_db_exec(struct rp_db *db, const char *sql, const char *const *params,
	       int n, int *changed, struct rp_err *e) RP_WUR;

#endif
