/* rampart device list|show ID|claim|update (the service's record of the
 * tenant's devices) and rampart deployment create|list.
 *
 * "device" is shared with the verbs that talk to rampartd on this machine
 * (cmd_device.c): list, claim and update exist only here; show is remote
 * when it names a device id and local without one (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "remote.h"

/* ---- device ---------------------------------------------------------------- */

static const struct remote_col device_cols[] = {
	{ "id", "ID", 64 }, { "product", "PRODUCT", 24 },
	{ "device_group", "DEVICE GROUP", 24 }, { "last_checkin", "LAST CHECK-IN", 0 },
	{ "runtime_version", "RUNTIME", 0 }, { "revoked", "REVOKED", 0 },
	{ NULL, NULL, 0 },
};

/* Name the product and device group of each device for the table: one
 * call for the products and one per product in use. */
static int add_names(struct cli_http *h, const char *tenant, json_t *devs,
		     struct rp_err *e)
{
	char path[512];
	json_t *prods = NULL, *groups = json_object(), *d, *p, *g, *list;
	size_t i, j, k;
	int rc;

	if (!groups)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/products", tenant);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &prods, e);
	if (rc)
		goto out;
	json_array_foreach(prods, i, p) {
		const char *pid = json_string_value(json_object_get(p, "id"));
		int used = 0;

		json_array_foreach(devs, j, d) {
			const char *dp = json_string_value(json_object_get(d, "product_id"));

			if (pid && dp && strcmp(pid, dp) == 0) {
				json_object_set(d, "product", json_object_get(p, "name"));
				used = 1;
			}
		}
		if (!used)
			continue;
		rc = remote_path(path, sizeof(path), e,
				 "/v1/tenants/%s/products/%s/device-groups", tenant, pid);
		list = NULL;
		if (!rc)
			rc = remote_request(h, "GET", path, NULL, &list, e);
		if (rc)
			goto out;
		json_array_foreach(list, k, g) {
			const char *gid = json_string_value(json_object_get(g, "id"));

			if (gid)
				json_object_set(groups, gid, json_object_get(g, "name"));
		}
		json_decref(list);
	}
	json_array_foreach(devs, j, d) {
		const char *dg = json_string_value(json_object_get(d, "device_group_id"));

		if (dg && json_object_get(groups, dg))
			json_object_set(d, "device_group", json_object_get(groups, dg));
	}
out:
	json_decref(prods);
	json_decref(groups);
	return rc;
}

static int device_list(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[256];
	json_t *doc = NULL;
	int rc;

	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/devices", a->tenant);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &doc, e);
	if (rc)
		return rc;
	if (!a->json && json_is_array(doc)) {
		rc = add_names(h, a->tenant, doc, e);
		if (rc) {
			json_decref(doc);
			return rp_err_prefix(e, "naming products and device groups");
		}
	}
	return remote_output(doc, a->json, device_cols, e);
}

static int device_show(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[512];
	json_t *doc = NULL;
	int rc;

	rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/devices/%s", a->tenant,
			 a->pos[0]);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, NULL, e);
	return rc;
}

/* --product and --device-group, by id or name, into body. */
static int placement(struct cli_http *h, struct remote_args *a, json_t *body,
		     struct rp_err *e)
{
	char prod[REMOTE_ID_MAX], group[REMOTE_ID_MAX];
	int rc;

	if (a->group) {
		rc = remote_group(h, a->tenant, a->product, a->group, prod, group, e);
		if (rc)
			return e->code == RP_EUSAGE ? rc : rp_err_prefix(e, "--device-group");
		if (json_object_set_new(body, "product", json_string(prod)) ||
		    json_object_set_new(body, "device_group", json_string(group)))
			return rp_err_set(e, RP_ENOMEM, "out of memory");
	} else if (a->product) {
		rc = remote_product(h, a->tenant, a->product, prod, e);
		if (rc)
			return e->code == RP_EUSAGE ? rc : rp_err_prefix(e, "--product");
		if (json_object_set_new(body, "product", json_string(prod)))
			return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	return 0;
}

static int device_claim(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[256];
	json_t *body = json_pack("{s:s}", "device_id", a->pos[0]), *doc = NULL;
	int rc;

	if (!body)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = placement(h, a, body, e);
	if (!rc)
		rc = remote_path(path, sizeof(path), e, "/v1/tenants/%s/devices/claim",
				 a->tenant);
	if (!rc)
		rc = remote_request(h, "POST", path, body, &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, NULL, e);
	json_decref(body);
	return rc;
}

static int device_update(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[512];
	json_t *body = json_object(), *doc = NULL;
	int rc;

	if (!body)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	rc = placement(h, a, body, e);
	if (!rc)
		rc = remote_path(path, sizeof(path), e,
				 "/v1/tenants/%s/devices/%s/device-group", a->tenant,
				 a->pos[0]);
	if (!rc)
		rc = remote_request(h, "PUT", path, body, &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, NULL, e);
	json_decref(body);
	return rc;
}

static const struct remote_verb device_verbs[] = {
	{ "device", "list", RO_JSON, 0, 0, 0, "[--json]",
	  "List the tenant's devices in the security service (Reader): product,\n"
	  "device group, last check-in, runtime version, revocation.\n", device_list },
	{ "device", "show", RO_JSON, 0, 1, 1, "ID [--json]",
	  "Show one device as the security service knows it (Reader): its\n"
	  "placement, certificate, last check-in and installed images. Without\n"
	  "an ID, 'rampart device show' asks rampartd on this machine instead.\n",
	  device_show },
	{ "device", "claim", RO_PRODUCT | RO_GROUP | RO_JSON, 0, 1, 1,
	  "ID [--product P] [--device-group G] [--json]",
	  "Claim the device ID (64 hex digits: the SHA-256 of its public key)\n"
	  "for the tenant (Contributor), optionally into a product and device\n"
	  "group. A device belongs to one tenant.\n", device_claim },
	{ "device", "update", RO_PRODUCT | RO_GROUP | RO_JSON, RO_GROUP, 1, 1,
	  "ID --device-group G [--product P] [--json]",
	  "Move the device to device group G (Contributor); it gets G's\n"
	  "deployment at its next check-in. Without --product, G is looked up in\n"
	  "every product (a name several products use needs --product).\n",
	  device_update },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static int is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0;
}

static void remote_device_help(FILE *f)
{
	const struct remote_verb *v;

	fprintf(f, "\nThe security service (after 'rampart login'; --tenant T when the\n"
		   "token sees several tenants):\n");
	for (v = device_verbs; v->name; v++)
		fprintf(f, "  %s %s\n", v->name, v->usage);
}

static int is_device_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return i == 64;
}

/* The argument of "show" that is not an option or an option's value, or
 * NULL. */
static const char *show_arg(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 || strcmp(argv[i], "--tenant") == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (argv[i][0] != '-')
			return argv[i];
	}
	return NULL;
}

int cmd_device_any(int argc, char **argv)
{
	const struct remote_verb *v;
	int i = 1, rc;

	/* Skip the group-level --socket of the local verbs. */
	while (i < argc && (strcmp(argv[i], "--socket") == 0 ||
			    strncmp(argv[i], "--socket=", 9) == 0))
		i += argv[i][8] == '=' ? 1 : 2;
	if (i < argc) {
		for (v = device_verbs; v->name; v++) {
			if (strcmp(v->name, argv[i]) != 0)
				continue;
			if (strcmp(v->name, "show") == 0) {
				const char *id = show_arg(argc - i, argv + i);
				char shown[RP_SHOW_BUF];

				if (!id)
					break; /* rampartd's "device show" */
				if (!is_device_id(id))
					return cli_usage("device show", "'%s' is not a device ID "
							 "(64 hex digits); without one, 'device "
							 "show' asks rampartd", rp_show(id, shown));
			}
			if (i != 1)
				return cli_usage("device", "--socket is for rampartd's verbs; "
						 "'device %s' asks the security service", v->name);
			return remote_run(v, argc - i, argv + i);
		}
	}
	if (argc < 2 || is_help(argv[1])) {
		rc = cmd_device(argc, argv);
		remote_device_help(argc < 2 ? stderr : stdout);
		return rc;
	}
	if (i < argc && strcmp(argv[i], "show") == 0 && argc > i + 1 &&
	    is_help(argv[i + 1])) {
		rc = cmd_device(argc, argv);
		printf("\nWith an ID it shows the device in the security service:\n"
		       "  rampart device show ID [--tenant T] [--json] "
		       "(see 'rampart device show ID --help')\n");
		return rc;
	}
	return cmd_device(argc, argv);
}

/* ---- deployment ------------------------------------------------------------ */

static const struct remote_col deployment_cols[] = {
	{ "version", "VERSION", 0 }, { "id", "ID", 36 }, { "created_at", "CREATED", 0 },
	{ "created_by", "BY", 0 }, { "images", "IMAGES", 120 }, { NULL, NULL, 0 },
};

static int deployments_path(struct cli_http *h, struct remote_args *a, char *path,
			    size_t pathsz, struct rp_err *e)
{
	char prod[REMOTE_ID_MAX], group[REMOTE_ID_MAX];
	int rc;

	rc = remote_group(h, a->tenant, a->product, a->group, prod, group, e);
	if (rc)
		return e->code == RP_EUSAGE ? rc : rp_err_prefix(e, "--device-group");
	return remote_path(path, pathsz, e,
			   "/v1/tenants/%s/products/%s/device-groups/%s/deployments",
			   a->tenant, prod, group);
}

static int deployment_create(struct cli_http *h, struct remote_args *a,
			     struct rp_err *e)
{
	char path[512];
	json_t *body = json_pack("{s:[]}", "images"), *ids, *doc = NULL;
	int i, rc;

	if (!body)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	ids = json_object_get(body, "images");
	for (i = 0; i < a->npos; i++)
		if (json_array_append_new(ids, json_string(a->pos[i]))) {
			json_decref(body);
			return rp_err_set(e, RP_ENOMEM, "out of memory");
		}
	rc = deployments_path(h, a, path, sizeof(path), e);
	if (!rc)
		rc = remote_request(h, "POST", path, body, &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, NULL, e);
	json_decref(body);
	return rc;
}

static int deployment_list(struct cli_http *h, struct remote_args *a, struct rp_err *e)
{
	char path[512];
	json_t *doc = NULL;
	int rc;

	rc = deployments_path(h, a, path, sizeof(path), e);
	if (!rc)
		rc = remote_request(h, "GET", path, NULL, &doc, e);
	if (!rc)
		rc = remote_output(doc, a->json, deployment_cols, e);
	return rc;
}

static const struct remote_verb deployment_verbs[] = {
	{ "deployment", "create", RO_PRODUCT | RO_GROUP | RO_JSON, RO_GROUP, 1, 32,
	  "--product P --device-group G IMAGE_ID... [--json]",
	  "Make IMAGE_ID... (at most 32, one per component, all of product P) the\n"
	  "device group's target set (Contributor): a new deployment whose\n"
	  "version is the previous one plus one. Devices of the group get it at\n"
	  "their next check-in.\n", deployment_create },
	{ "deployment", "list", RO_PRODUCT | RO_GROUP | RO_JSON, RO_GROUP, 0, 0,
	  "--product P --device-group G [--json]",
	  "List the device group's deployments, newest (the current one) first\n"
	  "(Reader).\n", deployment_list },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

int cmd_deployment(int argc, char **argv)
{
	return remote_dispatch("deployment", deployment_verbs, argc, argv);
}
