/* rampart: the developer and operator CLI. Thin wiring around lib/. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "remote.h"

static const struct cli_cmd groups[] = {
	{ "key", cmd_key, "create and show signing keys" },
	{ "package", cmd_package, "pack, show and verify signed image packages" },
	{ "board", cmd_board, "read hardware definitions, generate C headers" },
	{ "device", cmd_device_any, "manage a device through rampartd: apps, modes, reports;\n"
	  "                service: list, show ID, claim, update" },
	{ "login", cmd_login, "remember the security service, its CA and a token file" },
	{ "tenant", cmd_tenant, "service: create, list and show tenants" },
	{ "product", cmd_product, "service: create, list and show a tenant's products" },
	{ "device-group", cmd_device_group, "service: list a product's device groups" },
	{ "role", cmd_role, "service: add, list and remove users' roles" },
	{ "token", cmd_token, "service: create API tokens" },
	{ "audit", cmd_audit, "service: show a tenant's audit log" },
	{ "image", cmd_image, "service: upload, list, show and download images" },
	{ "deployment", cmd_deployment, "service: create and list a device group's deployments" },
	{ "error-report", cmd_error_report, "service: list and download devices' error reports" },
	{ "ca-certificate", cmd_ca_certificate, "service: download the tenant's device CA" },
	{ NULL, NULL, NULL },
};

static void help(FILE *f)
{
	const struct cli_cmd *c;

	fprintf(f, "usage: rampart <group> <command> [options]\n\n"
		   "Rampart: an open, secure-by-default IoT platform.\n\ngroups:\n");
	for (c = groups; c->name; c++)
		fprintf(f, "  %-15s %s\n", c->name, c->summary);
	fprintf(f, "\noptions:\n  -h, --help     this help\n"
		   "  --version      print the version\n"
		   "\nExit codes: 0 success, 1 input refused (invalid, tampered or\n"
		   "untrusted; for the service: any 4xx answer or a certificate\n"
		   "not trusted), 2 usage error, 3 I/O error (also: the service cannot\n"
		   "be reached or fails), 4 internal error.\n");
}

int main(int argc, char **argv)
{
	const struct cli_cmd *c;

	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("rampart %s\n", RP_VERSION);
		return EXIT_OK;
	}
	for (c = groups; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "rampart: unknown group '%s'\n\n", argv[1]);
	help(stderr);
	return EXIT_USAGE;
}
