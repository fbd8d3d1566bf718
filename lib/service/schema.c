/* Versioned schema migrations, oldest first. Written in the subset of SQL
 * that SQLite and PostgreSQL both run unchanged: TEXT, INTEGER/BIGINT,
 * CHECK, UNIQUE, REFERENCES; no AUTOINCREMENT/SERIAL (ids are UUIDs) and no
 * backend-specific types. Never edit a released migration: append one. */
#include "service/db_priv.h"

const char *const rp_schema_migrations[] = {
	/* 1: tenants, users and their roles, API tokens, products, device
	 * groups, devices, the audit log. Times are Unix seconds (audit: µs). */
	"CREATE TABLE tenants ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" created_at BIGINT NOT NULL);"
	"CREATE TABLE users ("
	" id TEXT PRIMARY KEY,"
	" tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" is_owner INTEGER NOT NULL DEFAULT 0 CHECK (is_owner IN (0, 1)),"
	" created_at BIGINT NOT NULL,"
	" UNIQUE (tenant_id, name));"
	"CREATE TABLE roles ("
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" role TEXT NOT NULL CHECK (role IN ('Administrator', 'Contributor', 'Reader')),"
	" PRIMARY KEY (tenant_id, user_id));"
	"CREATE TABLE tokens ("
	" id TEXT PRIMARY KEY,"
	" user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL UNIQUE,"
	" created_at BIGINT NOT NULL);"
	"CREATE TABLE products ("
	" id TEXT PRIMARY KEY,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" description TEXT NOT NULL DEFAULT '',"
	" created_at BIGINT NOT NULL,"
	" UNIQUE (tenant_id, name));"
	"CREATE TABLE device_groups ("
	" id TEXT PRIMARY KEY,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" position INTEGER NOT NULL DEFAULT 0,"
	" os_feed TEXT NOT NULL CHECK (os_feed IN ('Retail', 'RetailEval')),"
	" update_policy TEXT NOT NULL"
	"  CHECK (update_policy IN ('UpdateAll', 'NoThirdPartyAppUpdates')),"
	" created_at BIGINT NOT NULL,"
	" UNIQUE (product_id, name));"
	"CREATE TABLE devices ("
	" id TEXT PRIMARY KEY,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" group_id TEXT REFERENCES device_groups(id) ON DELETE SET NULL,"
	" claimed_at BIGINT NOT NULL);"
	"CREATE TABLE audit ("
	" id TEXT PRIMARY KEY,"
	" at BIGINT NOT NULL,"
	" tenant_id TEXT,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX audit_by_tenant ON audit (tenant_id, at);"
	"CREATE INDEX products_by_tenant ON products (tenant_id);"
	"CREATE INDEX groups_by_product ON device_groups (product_id);"
	"CREATE INDEX devices_by_tenant ON devices (tenant_id);",
};

const int rp_schema_count =
	(int)(sizeof(rp_schema_migrations) / sizeof(rp_schema_migrations[0]));
