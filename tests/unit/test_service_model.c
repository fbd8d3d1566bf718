/* Unit tests for lib/service/model on SQLite: bootstrap, tokens, tenant
 * isolation, roles, the five default groups, name rules, the audit log. */
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

#include "service/api.h"
#include "service/model.h"

static char dir[] = "/tmp/rp-test-model-XXXXXX";

struct fx {
	struct rp_model m;
	struct rp_principal owner;
	char ta[RP_ID_LEN + 1], tb[RP_ID_LEN + 1];
};

static void principal_for(struct fx *f, const char *tenant, const char *user,
			  enum rp_role role, struct rp_principal *p)
{
	json_t *out = NULL;
	struct rp_err e;

	assert_int_equal(rp_model_role_set(&f->m, &f->owner, tenant, user, role, &out, &e), 0);
	json_decref(out);
	assert_int_equal(rp_model_token_create(&f->m, &f->owner, tenant, user, &out, &e), 0);
	assert_int_equal(rp_model_authenticate(&f->m, json_string_value(json_object_get(out, "token")),
					       p, &e), 0);
	json_decref(out);
	assert_int_equal(p->role, role);
	assert_string_equal(p->tenant_id, tenant);
}

static int setup(void **state)
{
	static int n;
	struct fx *f = calloc(1, sizeof(*f));
	char url[256], token[RP_TOKEN_TEXT_LEN + 1];
	json_t *t = NULL;
	struct rp_err e;

	snprintf(url, sizeof(url), "sqlite:%s/m%d.db", dir, n++);
	assert_int_equal(rp_db_open(url, &f->m.db, &e), 0);
	assert_int_equal(rp_db_migrate(f->m.db, NULL, &e), 0);
	assert_int_equal(rp_model_bootstrap(&f->m, "owner", token, &e), 0);
	assert_int_equal(strncmp(token, "rpt_", 4), 0);
	assert_int_equal(strlen(token), RP_TOKEN_TEXT_LEN);
	assert_int_equal(rp_model_authenticate(&f->m, token, &f->owner, &e), 0);
	assert_true(f->owner.owner);
	assert_int_equal(rp_model_bootstrap(&f->m, "owner2", token, &e), -EEXIST);
	assert_int_equal(rp_model_tenant_create(&f->m, &f->owner, "Tenant A", &t, &e), 0);
	snprintf(f->ta, sizeof(f->ta), "%s", json_string_value(json_object_get(t, "id")));
	json_decref(t);
	assert_int_equal(rp_model_tenant_create(&f->m, &f->owner, "Tenant B", &t, &e), 0);
	snprintf(f->tb, sizeof(f->tb), "%s", json_string_value(json_object_get(t, "id")));
	json_decref(t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rp_db_close(f->m.db);
	free(f);
	return 0;
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	struct rp_principal p;
	struct rp_err e;
	char bad[RP_TOKEN_TEXT_LEN + 1];

	memset(bad, '0', RP_TOKEN_TEXT_LEN);
	memcpy(bad, "rpt_", 4);
	bad[RP_TOKEN_TEXT_LEN] = '\0';
	assert_int_equal(rp_model_authenticate(&f->m, bad, &p, &e), -EACCES);
	assert_int_equal(rp_model_authenticate(&f->m, "", &p, &e), -EACCES);
	assert_int_equal(rp_model_authenticate(&f->m, "rpt_xyz", &p, &e), -EACCES);
	assert_string_equal(p.name, "");
}

static void test_isolation(void **state)
{
	struct fx *f = *state;
	struct rp_principal a, b;
	json_t *out = NULL, *prod = NULL;
	struct rp_err e;
	const char *pid;

	principal_for(f, f->ta, "alice", RP_ROLE_ADMIN, &a);
	principal_for(f, f->tb, "bob", RP_ROLE_ADMIN, &b);
	assert_int_equal(rp_model_product_create(&f->m, &b, f->tb, "Thing", "", &prod, &e), 0);
	pid = json_string_value(json_object_get(prod, "id"));
	assert_int_equal(rp_model_tenant_get(&f->m, &a, f->tb, &out, &e) , -ENOENT);
	assert_int_equal(rp_model_product_list(&f->m, &a, f->tb, &out, &e), -ENOENT);
	assert_int_equal(rp_model_product_get(&f->m, &a, f->tb, pid, &out, &e), -ENOENT);
	assert_int_equal(rp_model_product_get(&f->m, &a, f->ta, pid, &out, &e), -ENOENT);
	assert_int_equal(rp_model_group_list(&f->m, &a, f->ta, pid, &out, &e), -ENOENT);
	assert_int_equal(rp_model_role_set(&f->m, &a, f->tb, "alice", RP_ROLE_ADMIN, &out, &e),
			 -ENOENT);
	assert_int_equal(rp_model_token_create(&f->m, &a, f->tb, "bob", &out, &e), -ENOENT);
	assert_int_equal(rp_model_token_create(&f->m, &a, f->ta, "bob", &out, &e), -ENOENT);
	assert_int_equal(rp_model_audit_list(&f->m, &a, f->tb, &out, &e), -ENOENT);
	assert_int_equal(rp_model_tenant_create(&f->m, &a, "Mine", &out, &e), -EPERM);
	assert_int_equal(rp_model_tenant_get(&f->m, &a, "not-an-id", &out, &e), -ENOENT);
	assert_int_equal(rp_model_tenant_list(&f->m, &a, &out, &e), 0);
	assert_int_equal(json_array_size(out), 1);
	json_decref(out);
	json_decref(prod);
}

static void test_reader_and_groups(void **state)
{
	struct fx *f = *state;
	struct rp_principal r, c;
	json_t *out = NULL, *prod = NULL;
	struct rp_err e;

	principal_for(f, f->ta, "reader", RP_ROLE_READER, &r);
	principal_for(f, f->ta, "dev", RP_ROLE_CONTRIBUTOR, &c);
	assert_int_equal(rp_model_product_create(&f->m, &r, f->ta, "P", "", &out, &e), -EPERM);
	assert_int_equal(rp_model_role_set(&f->m, &c, f->ta, "dev", RP_ROLE_ADMIN, &out, &e),
			 -EPERM);
	assert_int_equal(rp_model_audit_list(&f->m, &c, f->ta, &out, &e), -EPERM);
	assert_int_equal(rp_model_product_create(&f->m, &c, f->ta, "P", "x'; DROP TABLE audit;--",
						 &prod, &e), 0);
	assert_string_equal(json_string_value(json_object_get(prod, "description")),
			    "x'; DROP TABLE audit;--");
	assert_int_equal(rp_model_product_create(&f->m, &c, f->ta, "P", "", &out, &e), -EEXIST);
	assert_int_equal(rp_model_group_list(&f->m, &r, f->ta,
					     json_string_value(json_object_get(prod, "id")),
					     &out, &e), 0);
	assert_int_equal(json_array_size(out), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "name")),
			    "Development");
	json_decref(out);
	json_decref(prod);
	assert_int_equal(rp_model_audit_list(&f->m, &f->owner, f->ta, &out, &e), 0);
	assert_true(json_array_size(out) >= 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "action")),
			    "product.create");
	json_decref(out);
	/* Removing the role revokes the token's access. */
	assert_int_equal(rp_model_role_remove(&f->m, &f->owner, f->ta, "reader", &e), 0);
	assert_int_equal(rp_model_role_remove(&f->m, &f->owner, f->ta, "reader", &e), -ENOENT);
}

static void test_names(void **state)
{
	struct rp_err e;

	(void)state;
	assert_int_equal(rp_model_check_name("name", "CO2 Monitor-v1.2_x", &e), 0);
	assert_int_equal(rp_model_check_name("name", "", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_name("name", " lead", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_name("name", "trail ", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_name("name", "a'b", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_name("name",
		"012345678901234567890123456789012345678901234567890", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_user("user", "alice@example.com", &e), 0);
	assert_int_equal(rp_model_check_user("user", "Alice", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_user("user", "-a", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_desc("d", "tab\there", &e), RP_EINVAL);
	assert_int_equal(rp_model_check_desc("d", "quotes ' \" ; -- ok", &e), 0);
	assert_true(rp_model_is_id("0b8e6d1c-2f4a-4c3b-9d5e-6f7a8b9c0d1e"));
	assert_false(rp_model_is_id("0B8E6D1C-2F4A-4C3B-9D5E-6F7A8B9C0D1E"));
	assert_false(rp_model_is_id("0b8e6d1c2f4a4c3b9d5e6f7a8b9c0d1e"));
}

static void test_decoders(void **state)
{
	struct rp_api_product_req p;
	struct rp_api_role_req r;
	struct rp_err e;
	const char *ok = "{\"name\": \"P\", \"description\": \"d\"}";
	const char *unk = "{\"name\": \"P\", \"evil\": 1}";
	const char *role = "{\"user\": \"u\", \"role\": \"Admin\"}";

	(void)state;
	assert_int_equal(rp_api_decode_product((const uint8_t *)ok, strlen(ok), &p, &e), 0);
	assert_string_equal(p.description, "d");
	assert_int_equal(rp_api_decode_product((const uint8_t *)unk, strlen(unk), &p, &e),
			 RP_EFORMAT);
	assert_string_equal(e.msg, "evil: unknown key");
	assert_int_equal(rp_api_decode_role((const uint8_t *)role, strlen(role), &r, &e),
			 RP_EINVAL);
	assert_int_equal(rp_api_decode_product((const uint8_t *)"[]", 2, &p, &e), RP_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_and_groups, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_decoders),
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
