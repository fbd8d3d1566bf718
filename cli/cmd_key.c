/* rampart key generate | show */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/file.h"
#include "cli.h"
#include "crypto/crypto.h"

#define PATH_CAP 4096

static int generate_help(FILE *f)
{
	fprintf(f,
		"usage: rampart key generate -o KEY [--type ed25519|ecdsa-p256]\n"
		"                            [--public PUB] [--force]\n\n"
		"Create a signing key. The private key goes to KEY (mode 0600, PEM\n"
		"PKCS#8); its public half to PUB (default: KEY with .pub in place of\n"
		".key, or KEY.pub). Give PUB to whoever must trust your packages.\n\n"
		"  -o, --output KEY     private key file to create\n"
		"  -t, --type TYPE      ed25519 (default) or ecdsa-p256\n"
		"      --public PUB     public key file to create\n"
		"  -f, --force          replace existing files\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

/* KEY.key -> KEY.pub; anything else -> KEY.pub appended. */
static int default_pub(const char *key, char *out, size_t cap)
{
	size_t n = strlen(key);
	int w;

	if (n > 4 && strcmp(key + n - 4, ".key") == 0)
		w = snprintf(out, cap, "%.*s.pub", (int)(n - 4), key);
	else
		w = snprintf(out, cap, "%s.pub", key);
	return w > 0 && (size_t)w < cap ? 0 : -1;
}

static int key_generate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "type", required_argument, NULL, 't' },
		{ "public", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *pub = NULL;
	enum rp_key_type type = RP_KEY_ED25519;
	struct rp_buf priv_pem, pub_pem;
	struct rp_key *key = NULL;
	char pubpath[PATH_CAP], id[2 * RP_KEYID_LEN + 1];
	struct rp_err e;
	int c, force = 0, rc, ex;

	rp_buf_init(&priv_pem, 0);
	rp_buf_init(&pub_pem, 0);
	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "o:t:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pub = optarg; break;
		case 'f': force = 1; break;
		case 't':
			if (rp_key_type_parse(optarg, &type))
				return cli_usage("key generate",
						 "unknown key type '%s' (use ed25519 or ecdsa-p256)",
						 optarg);
			break;
		case 'h': return generate_help(stdout);
		default: return generate_help(stderr);
		}
	}
	if (optind != argc)
		return cli_usage("key generate", "unexpected argument '%s'", argv[optind]);
	if (!out)
		return cli_usage("key generate", "--output KEY is required");
	if (!pub) {
		if (default_pub(out, pubpath, sizeof(pubpath)))
			return cli_usage("key generate", "path too long");
		pub = pubpath;
	}
	if (strcmp(pub, out) == 0)
		return cli_usage("key generate", "the public and private key files must differ");

	rc = rp_key_generate(type, &key, &e);
	if (rc == 0)
		rc = rp_key_private_pem(key, &priv_pem, &e);
	if (rc == 0)
		rc = rp_key_public_pem(key, &pub_pem, &e);
	/* Public first: a failure then leaves no orphaned private key. */
	if (rc == 0)
		rc = rp_file_write(pub, pub_pem.data, pub_pem.len, 0644, !force, &e);
	if (rc == 0)
		rc = rp_file_write(out, priv_pem.data, priv_pem.len, 0600, !force, &e);
	if (rc) {
		ex = cli_fail(&e);
		goto out;
	}
	rp_hex(rp_key_id(key), RP_KEYID_LEN, id);
	printf("created %s key\n  private key: %s (keep it secret)\n"
	       "  public key:  %s\n  key id:      %s\n",
	       rp_key_type_name(type), out, pub, id);
	ex = EXIT_OK;
out:
	rp_buf_free_wipe(&priv_pem);
	rp_buf_free(&pub_pem);
	rp_key_free(key);
	return ex;
}

static int show_help(FILE *f)
{
	fprintf(f,
		"usage: rampart key show KEY [--json]\n\n"
		"Show a key's type, key id and public key. KEY may be a private or a\n"
		"public key file; the private part is never printed.\n\n"
		"  --json     machine-readable output\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

static int key_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rp_key *key = NULL;
	struct rp_buf pem;
	char id[2 * RP_KEYID_LEN + 1];
	struct rp_err e;
	int c, json = 0, ex;

	rp_buf_init(&pem, 0);
	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': return show_help(stdout);
		default: return show_help(stderr);
		}
	}
	if (argc - optind != 1)
		return cli_usage("key show", "expected one key file");
	if (rp_key_load_file(argv[optind], 0, &key, &e) ||
	    rp_key_public_pem(key, &pem, &e)) {
		ex = cli_fail(&e);
		goto out;
	}
	rp_hex(rp_key_id(key), RP_KEYID_LEN, id);
	if (json) {
		ex = cli_print_json(json_pack("{s:s, s:s, s:b, s:s%}",
			"type", rp_key_type_name(rp_key_type(key)),
			"key_id", id,
			"private", rp_key_has_private(key),
			"public_key_pem", (const char *)pem.data, pem.len));
	} else {
		printf("type:    %s\nkey id:  %s\nprivate: %s\n\n%.*s",
		       rp_key_type_name(rp_key_type(key)), id,
		       rp_key_has_private(key) ? "yes (this file is secret)" : "no",
		       (int)pem.len, (const char *)pem.data);
		ex = EXIT_OK;
	}
out:
	rp_buf_free(&pem);
	rp_key_free(key);
	return ex;
}

int cmd_key(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "generate", key_generate, "create a signing key pair" },
		{ "show", key_show, "show a key's type, id and public key" },
		{ NULL, NULL, NULL },
	};
	return cli_dispatch("key", cmds, argc, argv);
}
