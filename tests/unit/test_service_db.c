/* Unit tests for lib/service/db on SQLite: URLs, migrations, bound
 * parameters (text that looks like SQL stays data), transactions,
 * constraint errors, the prepared-statement cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/db.h"

static char dir[] = "/tmp/rp-test-db-XXXXXX";

static struct rp_db *open_fresh(const char *name)
{
	char url[256];
	struct rp_db *db = NULL;
	struct rp_err e;
	int v = -1;

	snprintf(url, sizeof(url), "sqlite:%s/%s", dir, name);
	assert_int_equal(rp_db_open(url, &db, &e), 0);
	assert_int_equal(rp_db_migrate(db, &v, &e), 0);
	assert_int_equal(v, rp_db_schema_latest());
	return db;
}

static void test_urls(void **state)
{
	struct rp_db *db = NULL;
	struct rp_err e;

	(void)state;
	assert_int_equal(rp_db_open("", &db, &e), RP_EUSAGE);
	assert_int_equal(rp_db_open("sqlite:", &db, &e), RP_EUSAGE);
	assert_int_equal(rp_db_open("mysql://x", &db, &e), RP_EUSAGE);
	assert_null(db);
	db = open_fresh("urls.db");
	assert_string_equal(rp_db_kind(db), "sqlite");
	rp_db_close(db);
	rp_db_close(NULL);
}

static void test_migrate_idempotent(void **state)
{
	struct rp_db *db = open_fresh("mig.db");
	struct rp_err e;
	int v = 0;

	(void)state;
	assert_int_equal(rp_db_migrate(db, &v, &e), 0);
	assert_int_equal(v, rp_db_schema_latest());
	/* A database from a newer program is refused. */
	assert_int_equal(rp_db_exec(db, "INSERT INTO schema_version (version, applied_at)"
				    " VALUES (999, 0)", NULL, 0, NULL, &e), 0);
	assert_int_equal(rp_db_migrate(db, &v, &e), RP_EPOLICY);
	assert_non_null(strstr(e.msg, "newer"));
	rp_db_close(db);
}

static void test_params_are_data(void **state)
{
	struct rp_db *db = open_fresh("params.db");
	const char *evil = "x'); DROP TABLE tenants; --";
	const char *p[3] = { "id-1", evil, "1" };
	struct rp_stmt *st = NULL;
	struct rp_err e;
	int changed = 0;

	(void)state;
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", p, 3, &changed, &e), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(rp_db_prepare(db, "SELECT name, created_at FROM tenants"
				       " WHERE id = ?", &st, &e), 0);
	assert_int_equal(rp_stmt_bind_text(st, 1, "id-1"), 0);
	assert_int_equal(rp_stmt_bind_text(st, 0, "x"), RP_EUSAGE);
	assert_int_equal(rp_stmt_step(st, &e), 0);
	assert_string_equal(rp_stmt_text(st, 0), evil);
	assert_int_equal(rp_stmt_int(st, 1), 1);
	assert_int_equal(rp_stmt_step(st, &e), 1);
	rp_stmt_free(st);
	/* Same id again: a uniqueness violation is -EEXIST. */
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", p, 3, NULL, &e), -EEXIST);
	rp_db_close(db);
}

static void test_rollback_and_fk(void **state)
{
	struct rp_db *db = open_fresh("tx.db");
	const char *p[3] = { "t1", "acme", "1" };
	const char *prod[4] = { "p1", "no-such-tenant", "x", "1" };
	struct rp_stmt *st = NULL;
	struct rp_err e;

	(void)state;
	assert_int_equal(rp_db_begin(db, &e), 0);
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", p, 3, NULL, &e), 0);
	rp_db_rollback(db);
	assert_int_equal(rp_db_prepare(db, "SELECT COUNT(*) FROM tenants", &st, &e), 0);
	assert_int_equal(rp_stmt_step(st, &e), 0);
	assert_int_equal(rp_stmt_int(st, 0), 0);
	rp_stmt_free(st);
	/* Foreign keys are on. */
	assert_int_equal(rp_db_exec(db, "INSERT INTO products (id, tenant_id, name,"
				    " created_at) VALUES (?, ?, ?, ?)", prod, 4, NULL, &e),
			 -ENOENT);
	rp_db_close(db);
}

static int64_t one_int(struct rp_db *db, const char *sql)
{
	struct rp_stmt *st = NULL;
	struct rp_err e;
	int64_t v;

	assert_int_equal(rp_db_prepare(db, sql, &st, &e), 0);
	assert_int_equal(rp_stmt_step(st, &e), 0);
	v = rp_stmt_int(st, 0);
	rp_stmt_free(st);
	return v;
}

/* The statement cache: a kept statement comes back reset with no
 * bindings, a nested use of the same text gets its own statement, more
 * texts than the cache holds still run, and a reused address with other
 * text is not mistaken for the kept one. */
static void test_statement_cache(void **state)
{
	static const char *const sel = "SELECT name FROM tenants WHERE created_at >= ?"
				       " ORDER BY name";
	struct rp_db *db = open_fresh("cache.db");
	const char *a[3] = { "t1", "acme", "1" }, *b[3] = { "t2", "bolt", "2" };
	struct rp_stmt *st = NULL, *inner = NULL;
	static char texts[RP_DB_STMT_CACHE + 8][32];
	char buf[32];
	struct rp_err e;
	size_t i;
	int pass;

	(void)state;
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", a, 3, NULL, &e), 0);
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", b, 3, NULL, &e), 0);
	/* Left after its first row. */
	assert_int_equal(rp_db_prepare(db, sel, &st, &e), 0);
	assert_int_equal(rp_stmt_bind_int(st, 1, 0), 0);
	assert_int_equal(rp_stmt_step(st, &e), 0);
	assert_string_equal(rp_stmt_text(st, 0), "acme");
	rp_stmt_free(st);
	/* Again: from the start, and the old binding is gone (NULL matches
	 * nothing). */
	assert_int_equal(rp_db_prepare(db, sel, &st, &e), 0);
	assert_int_equal(rp_stmt_step(st, &e), 1);
	rp_stmt_free(st);
	/* Nested: the outer statement keeps its place. */
	assert_int_equal(rp_db_prepare(db, sel, &st, &e), 0);
	assert_int_equal(rp_stmt_bind_int(st, 1, 0), 0);
	assert_int_equal(rp_stmt_step(st, &e), 0);
	assert_string_equal(rp_stmt_text(st, 0), "acme");
	assert_int_equal(rp_db_prepare(db, sel, &inner, &e), 0);
	assert_int_equal(rp_stmt_bind_int(inner, 1, 2), 0);
	assert_int_equal(rp_stmt_step(inner, &e), 0);
	assert_string_equal(rp_stmt_text(inner, 0), "bolt");
	rp_stmt_free(inner);
	assert_int_equal(rp_stmt_step(st, &e), 0);
	assert_string_equal(rp_stmt_text(st, 0), "bolt");
	assert_int_equal(rp_stmt_step(st, &e), 1);
	rp_stmt_free(st);
	/* More texts than the cache holds, twice round (evictions). */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < RP_DB_STMT_CACHE + 8; i++) {
			snprintf(texts[i], sizeof(texts[i]), "SELECT %zu", i + 1);
			assert_int_equal(one_int(db, texts[i]), (int64_t)i + 1);
		}
	/* The same address with other text. */
	snprintf(buf, sizeof(buf), "SELECT 11");
	assert_int_equal(one_int(db, buf), 11);
	snprintf(buf, sizeof(buf), "SELECT 12");
	assert_int_equal(one_int(db, buf), 12);
	/* A failed step leaves the kept statement usable. */
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", a, 3, NULL, &e), -EEXIST);
	a[0] = "t3";
	a[1] = "cove";
	assert_int_equal(rp_db_exec(db, "INSERT INTO tenants (id, name, created_at)"
				    " VALUES (?, ?, ?)", a, 3, NULL, &e), 0);
	assert_int_equal(one_int(db, "SELECT COUNT(*) FROM tenants"), 3);
	rp_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_migrate_idempotent),
		cmocka_unit_test(test_params_are_data),
		cmocka_unit_test(test_rollback_and_fk),
		cmocka_unit_test(test_statement_cache),
	};
	char cmd[64];
	int rc;

	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
