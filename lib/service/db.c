/* The backend-neutral half of lib/service/db: URL dispatch, transactions,
 * migrations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/db.h"
#include "service/db_priv.h"

/* One kept statement: prepared once per connection, lent to one rp_stmt
 * at a time. Keyed by the SQL text's address (the program's constant
 * text), confirmed by the text itself. */
struct kept {
	const char *key;  /* NULL: a free slot */
	char *sql;        /* a copy of the text */
	void *st;         /* the backend's statement, owned here */
	uint64_t used;    /* last lent, for eviction */
	int lent;         /* an rp_stmt holds it now */
};

struct rp_db {
	const struct db_ops *ops;
	void *conn;
	uint64_t tick;
	struct kept kept[RP_DB_STMT_CACHE];
};

struct rp_stmt {
	struct rp_db *db;
	void *st;
	struct kept *k; /* the slot st is borrowed from; NULL: st is owned */
};

static void kept_drop(struct rp_db *db, struct kept *k)
{
	if (k->st)
		db->ops->finalize(k->st);
	free(k->sql);
	memset(k, 0, sizeof(*k));
}

int rp_db_open(const char *url, struct rp_db **out, struct rp_err *e)
{
	struct rp_db *db = NULL;
	const char *target = url;
	const struct db_ops *ops = &rp_db_sqlite_ops;
	int rc;

	if (!url || !*url)
		return rp_err_set(e, RP_EUSAGE, "db: empty database URL");
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		ops = &rp_db_pg_ops;
	} else if (strncmp(url, "sqlite:", 7) == 0) {
		target = url + 7;
	} else if (strstr(url, "://")) {
		return rp_err_set(e, RP_EUSAGE,
				  "db: unknown URL scheme (postgresql:// or sqlite:PATH)");
	}
	if (!*target)
		return rp_err_set(e, RP_EUSAGE, "db: empty SQLite path");
	db = calloc(1, sizeof(*db));
	if (!db)
		return rp_err_set(e, RP_ENOMEM, "db: out of memory");
	db->ops = ops;
	rc = ops->open(target, &db->conn, e);
	if (rc) {
		rp_err_prefix(e, "db");
		goto out;
	}
	*out = db;
	db = NULL;
out:
	free(db);
	return rc;
}

void rp_db_close(struct rp_db *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < RP_DB_STMT_CACHE; i++)
		kept_drop(db, &db->kept[i]);
	db->ops->close(db->conn);
	free(db);
}

const char *rp_db_kind(const struct rp_db *db)
{
	return db->ops->kind;
}

int rp_db_begin(struct rp_db *db, struct rp_err *e)
{
	return db->ops->script(db->conn, db->ops->begin, e);
}

int rp_db_commit(struct rp_db *db, struct rp_err *e)
{
	return db->ops->script(db->conn, "COMMIT", e);
}

void rp_db_rollback(struct rp_db *db)
{
	struct rp_err ignored;

	/* Fails harmlessly when no transaction is open. */
	(void)db->ops->script(db->conn, "ROLLBACK", &ignored);
}

/* The slot for sql: the one that holds it (lent or not), else a free one,
 * else the least recently used one not lent (emptied), else NULL. */
static struct kept *kept_find(struct rp_db *db, const char *sql, int *hit)
{
	struct kept *k, *free_slot = NULL, *old = NULL;
	size_t i;

	*hit = 0;
	for (i = 0; i < RP_DB_STMT_CACHE; i++) {
		k = &db->kept[i];
		if (!k->key) {
			if (!free_slot)
				free_slot = k;
			continue;
		}
		if (k->key == sql && strcmp(k->sql, sql) == 0) {
			*hit = 1;
			return k;
		}
		if (!k->lent && (!old || k->used < old->used))
			old = k;
	}
	if (free_slot)
		return free_slot;
	if (old)
		kept_drop(db, old);
	return old;
}

int rp_db_prepare(struct rp_db *db, const char *sql, struct rp_stmt **out,
		  struct rp_err *e)
{
	struct rp_stmt *st = calloc(1, sizeof(*st));
	struct kept *k;
	int rc, hit;

	if (!st)
		return rp_err_set(e, RP_ENOMEM, "db: out of memory");
	st->db = db;
	k = kept_find(db, sql, &hit);
	if (hit && !k->lent) {
		k->lent = 1;
		k->used = ++db->tick;
		st->st = k->st;
		st->k = k;
		*out = st;
		return 0;
	}
	/* Already lent (the same statement nested in its own loop), or a
	 * miss: a miss fills the slot; a statement that cannot be kept is
	 * prepared for this one use. */
	if (hit || !k) {
		rc = db->ops->prepare(db->conn, sql, 0, &st->st, e);
	} else {
		k->sql = strdup(sql);
		rc = k->sql ? db->ops->prepare(db->conn, sql, 1, &st->st, e)
			    : rp_err_set(e, RP_ENOMEM, "db: out of memory");
		if (rc == 0) {
			k->key = sql;
			k->st = st->st;
			k->lent = 1;
			k->used = ++db->tick;
			st->k = k;
		} else {
			free(k->sql);
			k->sql = NULL;
		}
	}
	if (rc) {
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int rp_stmt_bind_text(struct rp_stmt *st, int idx, const char *s)
{
	if (idx < 1 || idx > RP_DB_PARAMS_MAX)
		return RP_EUSAGE;
	return st->db->ops->bind_text(st->st, idx, s);
}

int rp_stmt_bind_int(struct rp_stmt *st, int idx, int64_t v)
{
	if (idx < 1 || idx > RP_DB_PARAMS_MAX)
		return RP_EUSAGE;
	return st->db->ops->bind_int(st->st, idx, v);
}

int rp_stmt_step(struct rp_stmt *st, struct rp_err *e)
{
	return st->db->ops->step(st->st, e);
}

const char *rp_stmt_text(struct rp_stmt *st, int col)
{
	return st->db->ops->text(st->st, col);
}

int64_t rp_stmt_int(struct rp_stmt *st, int col)
{
	return st->db->ops->integer(st->st, col);
}

void rp_stmt_free(struct rp_stmt *st)
{
	if (!st)
		return;
	if (st->k) {
		st->db->ops->reset(st->st);
		st->k->lent = 0;
	} else {
		st->db->ops->finalize(st->st);
	}
	free(st);
}

int rp_db_exec(struct rp_db *db, const char *sql, const char *const *params,
	       int n, int *changed, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	int rc, i;

	rc = rp_db_prepare(db, sql, &st, e);
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		rc = rp_stmt_bind_text(st, i + 1, params[i]);
		if (rc) {
			rp_err_set(e, rc, "db: binding parameter %d failed", i + 1);
			goto out;
		}
	}
	rc = rp_stmt_step(st, e);
	if (rc < 0)
		goto out;
	if (changed)
		*changed = db->ops->changes(db->conn, st->st) > 0;
	rc = 0;
out:
	rp_stmt_free(st);
	return rc;
}

int rp_db_schema_latest(void)
{
	return rp_schema_count;
}

static int current_version(struct rp_db *db, int *v, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	int64_t got;
	int rc;

	rc = rp_db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version",
			   &st, e);
	if (rc)
		goto out;
	rc = rp_stmt_step(st, e);
	if (rc < 0)
		goto out;
	got = rc == 0 ? rp_stmt_int(st, 0) : 0;
	if (got < 0 || got > 1000000) {
		rc = rp_err_set(e, RP_EFORMAT, "db: schema version %lld is not valid",
				(long long)got);
		goto out;
	}
	*v = (int)got;
	rc = 0;
out:
	rp_stmt_free(st);
	return rc;
}

int rp_db_migrate(struct rp_db *db, int *version, struct rp_err *e)
{
	struct rp_stmt *st = NULL;
	int rc, v = 0;

	rc = db->ops->script(db->conn,
			     "CREATE TABLE IF NOT EXISTS schema_version ("
			     " version INTEGER PRIMARY KEY,"
			     " applied_at BIGINT NOT NULL)", e);
	if (rc)
		goto out;
	rc = current_version(db, &v, e);
	if (rc)
		goto out;
	if (v > rp_schema_count) {
		rc = rp_err_set(e, RP_EPOLICY,
				"db: schema version %d is newer than this program's %d",
				v, rp_schema_count);
		goto out;
	}
	for (; v < rp_schema_count; v++) {
		rc = rp_db_begin(db, e);
		if (rc)
			goto out;
		rc = db->ops->script(db->conn, rp_schema_migrations[v], e);
		if (rc == 0)
			rc = rp_db_prepare(db, "INSERT INTO schema_version (version, applied_at)"
					   " VALUES (?, ?)", &st, e);
		if (rc == 0 && (rp_stmt_bind_int(st, 1, v + 1) ||
				rp_stmt_bind_int(st, 2, (int64_t)time(NULL))))
			rc = rp_err_set(e, RP_ENOMEM, "db: binding failed");
		if (rc == 0 && (rc = rp_stmt_step(st, e)) > 0)
			rc = 0;
		rp_stmt_free(st);
		st = NULL;
		if (rc == 0)
			rc = rp_db_commit(db, e);
		if (rc) {
			rp_db_rollback(db);
			rp_err_prefix(e, "db: migration %d", v + 1);
			goto out;
		}
	}
	if (version)
		*version = v;
out:
	rp_stmt_free(st);
	return rc;
}
