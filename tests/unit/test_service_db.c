/* Unit tests for lib/service/db on SQLite: URLs, migrations, bound
 * parameters (text that looks like SQL stays data), transactions,
 * constraint errors. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_migrate_idempotent),
		cmocka_unit_test(test_params_are_data),
		cmocka_unit_test(test_rollback_and_fk),
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
