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

	/* 2: device admission. A device's product and revocation; the
	 * certificates issued to it (by serial, so revocation finds them);
	 * single-use enrollment tokens, kept only as their SHA-256. */
	"ALTER TABLE devices ADD COLUMN product_id TEXT"
	" REFERENCES products(id) ON DELETE SET NULL;"
	"ALTER TABLE devices ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;"
	"CREATE TABLE device_certs ("
	" serial TEXT PRIMARY KEY,"
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" generation INTEGER NOT NULL,"
	" not_before BIGINT NOT NULL,"
	" not_after BIGINT NOT NULL,"
	" revoked_at BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX device_certs_by_device ON device_certs (device_id, not_after);"
	"CREATE TABLE enrollment_tokens ("
	" id TEXT PRIMARY KEY,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL UNIQUE,"
	" product_id TEXT REFERENCES products(id) ON DELETE CASCADE,"
	" group_id TEXT REFERENCES device_groups(id) ON DELETE CASCADE,"
	" expires_at BIGINT NOT NULL,"
	" used_at BIGINT NOT NULL DEFAULT 0,"
	" used_by TEXT NOT NULL DEFAULT '',"
	" created_by TEXT NOT NULL,"
	" created_at BIGINT NOT NULL);"
	"CREATE INDEX enrollment_tokens_by_tenant ON enrollment_tokens (tenant_id);",

	/* 3: images and deployments. Developer signing keys registered per
	 * product; images stored content-addressed (sha256 of the
	 * production-signed file) with what their signed header says; a
	 * device group's deployments, versioned, each a set of images with
	 * at most one per component. */
	"CREATE TABLE signing_keys ("
	" key_id TEXT NOT NULL,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
	" algorithm TEXT NOT NULL,"
	" pem TEXT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" PRIMARY KEY (product_id, key_id));"
	"CREATE TABLE images ("
	" id TEXT NOT NULL,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
	" component_id TEXT NOT NULL,"
	" image_type TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" security_version BIGINT NOT NULL,"
	" size BIGINT NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" developer_key_id TEXT NOT NULL,"
	" production_key_id TEXT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" PRIMARY KEY (tenant_id, id));"
	"CREATE INDEX images_by_component ON images (tenant_id, component_id);"
	"CREATE TABLE deployments ("
	" id TEXT PRIMARY KEY,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
	" group_id TEXT NOT NULL REFERENCES device_groups(id) ON DELETE CASCADE,"
	" version BIGINT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" UNIQUE (group_id, version));"
	"CREATE TABLE deployment_images ("
	" deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,"
	" tenant_id TEXT NOT NULL,"
	" image_id TEXT NOT NULL,"
	" component_id TEXT NOT NULL,"
	" PRIMARY KEY (deployment_id, image_id),"
	" UNIQUE (deployment_id, component_id),"
	" FOREIGN KEY (tenant_id, image_id) REFERENCES images(tenant_id, id) ON DELETE CASCADE);",

	/* 4: device check-in. What each device last reported (time of its
	 * last check-in, runtime version, the targets version it holds, its
	 * installed images as our own JSON text); its error reports, one row
	 * per (device, seq) so a re-sent report is stored once; and the
	 * per-group counter that numbers targets documents ('' names the
	 * devices of a tenant that are in no group). Indexes serve the
	 * check-in path (device by id, reports by device and seq, the
	 * group's newest deployment) and the report listing (tenant, time). */
	"ALTER TABLE devices ADD COLUMN last_checkin BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN runtime_version TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE devices ADD COLUMN targets_version BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN installed TEXT NOT NULL DEFAULT '[]';"
	"CREATE INDEX devices_by_group ON devices (group_id);"
	"CREATE TABLE error_reports ("
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" seq BIGINT NOT NULL,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" event_time BIGINT NOT NULL,"
	" component_id TEXT NOT NULL,"
	" app_name TEXT NOT NULL,"
	" event_type TEXT NOT NULL"
	"  CHECK (event_type IN ('AppExit', 'AppCrash', 'AppStartFailed')),"
	" event_class TEXT NOT NULL CHECK (event_class IN ('Planned', 'Unplanned')),"
	" exit_code BIGINT NOT NULL,"
	" exit_signal BIGINT NOT NULL,"
	" description TEXT NOT NULL,"
	" image_version TEXT NOT NULL,"
	" security_version BIGINT NOT NULL,"
	" received_at BIGINT NOT NULL,"
	" PRIMARY KEY (device_id, seq));"
	"CREATE INDEX error_reports_by_tenant ON error_reports (tenant_id, event_time);"
	"CREATE TABLE targets_versions ("
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" group_id TEXT NOT NULL,"
	" version BIGINT NOT NULL,"
	" PRIMARY KEY (tenant_id, group_id));",
	/* 5: the targets document last issued to each device (base64, as
	 * sent) with what it was made from (the group, '' for none, and that
	 * group's deployment version, 0 for none), its version and times: a
	 * check-in re-serves it while nothing it names changed and it is
	 * young (docs/formats/checkin.md, "Re-serving"). */
	"CREATE TABLE device_targets ("
	" device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	" group_id TEXT NOT NULL,"
	" deployment_version BIGINT NOT NULL,"
	" version BIGINT NOT NULL,"
	" issued_at BIGINT NOT NULL,"
	" expires BIGINT NOT NULL,"
	" doc TEXT NOT NULL);",
};

const int rp_schema_count =
	(int)(sizeof(rp_schema_migrations) / sizeof(rp_schema_migrations[0]));
