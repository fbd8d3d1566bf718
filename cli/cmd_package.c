/* rampart package pack | show | verify */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/num.h"
#include "cli.h"
#include "format/board.h"
#include "format/image.h"
#include "format/manifest.h"
#include "format/package.h"
#include "hwpath.h"

#define MAX_KEYS RP_PKG_SIGS_MAX
#define MAX_TRUST 32

/* Keys named on the command line; released with keys_free. */
struct keyset {
	struct rp_key *k[MAX_TRUST];
	size_t n;
};

static int keys_add(struct keyset *ks, const char *path, int priv, size_t max,
		    struct rp_err *e)
{
	if (ks->n >= max)
		return rp_err_set(e, RP_EUSAGE, "at most %zu keys", max);
	if (rp_key_load_file(path, priv, &ks->k[ks->n], e))
		return e->code;
	ks->n++;
	return 0;
}

static void keys_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		rp_key_free(ks->k[i]);
	ks->n = 0;
}

static int pack_help(FILE *f)
{
	fprintf(f,
		"usage: rampart package pack DIR --manifest app_manifest.json --key KEY\n"
		"                            -o OUT [options]\n\n"
		"Pack the app's file tree DIR with its manifest into a signed image\n"
		"package. The manifest is validated strictly; \"$NAME\" peripherals are\n"
		"resolved through --board; EntryPoint must be an executable in DIR.\n"
		"Device nodes, fifos, sockets, setuid/setgid files and symlinks that\n"
		"leave DIR are refused.\n\n"
		"  -m, --manifest FILE        the app manifest (Azure Sphere format)\n"
		"  -k, --key KEY              signing key (repeat to add signatures)\n"
		"  -o, --output OUT           package file to write\n"
		"  -b, --board BOARD.json     hardware definition for \"$NAME\" values\n"
		"      --hw-dir DIR           also look for imported definitions here\n"
		"      --image-version V      version text (default 1.0.0)\n"
		"      --security-version N   anti-rollback counter (default 0)\n"
		"      --image-id GUID        fixed image id (default: random)\n\n"
		"The build time is $SOURCE_DATE_EPOCH when set, for reproducible builds.\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

/* 1 if out would be written inside dir (the packer would read its own
 * output). Compares canonical paths of dir and of out's directory. */
static int inside(const char *dir, const char *out)
{
	char rd[PATH_MAX], ro[PATH_MAX], od[PATH_MAX];
	const char *slash = strrchr(out, '/');
	size_t n;

	if (!realpath(dir, rd))
		return 0;
	if (!slash) {
		if (!getcwd(ro, sizeof(ro)))
			return 0;
	} else {
		n = (size_t)(slash - out);
		if (n == 0)
			n = 1; /* "/file" */
		if (n >= sizeof(od))
			return 0;
		memcpy(od, out, n);
		od[n] = '\0';
		if (!realpath(od, ro))
			return 0;
	}
	n = strlen(rd);
	return strncmp(ro, rd, n) == 0 && (ro[n] == '\0' || ro[n] == '/' || n == 1);
}

/* EntryPoint must name an executable regular file inside dir. */
static int check_entry(const char *dir, const char *entry, struct rp_err *e)
{
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (dfd < 0)
		return rp_err_errno(e, errno, "%s", dir);
	if (fstatat(dfd, entry + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = rp_err_set(e, RP_EPOLICY,
				"EntryPoint \"%s\": %s%s does not exist", entry, dir, entry);
	else if (!S_ISREG(st.st_mode))
		rc = rp_err_set(e, RP_EPOLICY,
				"EntryPoint \"%s\": %s%s is not a regular file", entry, dir, entry);
	else if (!(st.st_mode & S_IXUSR))
		rc = rp_err_set(e, RP_EPOLICY,
				"EntryPoint \"%s\": %s%s is not executable", entry, dir, entry);
	close(dfd);
	return rc;
}

static int package_pack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "board", required_argument, NULL, 'b' },
		{ "hw-dir", required_argument, NULL, 'd' },
		{ "image-version", required_argument, NULL, 'V' },
		{ "security-version", required_argument, NULL, 'S' },
		{ "image-id", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *manifest_path = NULL, *out = NULL, *board_path = NULL;
	const char *version = "1.0.0", *sde;
	const char *key_paths[MAX_KEYS];
	size_t nkey_paths = 0, i;
	struct rp_manifest *m = NULL;
	struct rp_board *b = NULL;
	struct rp_buf text, stored;
	struct keyset keys = { .n = 0 };
	struct rp_pkg_pack_opts po;
	struct hwpath hw;
	uint8_t image_id[16];
	uint64_t secver = 0, build_time;
	char idtext[37], kid[2 * RP_KEYID_LEN + 1];
	struct rp_err e;
	struct stat st;
	int c, ex, have_id = 0;

	rp_buf_init(&text, 0);
	rp_buf_init(&stored, 0);
	hwpath_init(&hw);
	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "m:k:o:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': manifest_path = optarg; break;
		case 'o': out = optarg; break;
		case 'b': board_path = optarg; break;
		case 'V': version = optarg; break;
		case 'k':
			if (nkey_paths >= MAX_KEYS)
				return cli_usage("package pack", "at most %d --key", MAX_KEYS);
			key_paths[nkey_paths++] = optarg;
			break;
		case 'd':
			if (hwpath_add(&hw, optarg))
				return cli_usage("package pack", "too many --hw-dir");
			break;
		case 'S':
			if (rp_parse_u64z(optarg, UINT32_MAX, &secver))
				return cli_usage("package pack",
						 "--security-version: '%s' is not a number from 0 to %u",
						 optarg, UINT32_MAX);
			break;
		case 'I':
			if (rp_guid_parse(optarg, strlen(optarg), image_id))
				return cli_usage("package pack", "--image-id: '%s' is not a GUID",
						 optarg);
			have_id = 1;
			break;
		case 'h': return pack_help(stdout);
		default: return pack_help(stderr);
		}
	}
	if (argc - optind != 1)
		return cli_usage("package pack", "expected one app directory");
	if (!manifest_path)
		return cli_usage("package pack", "--manifest is required");
	if (!out)
		return cli_usage("package pack", "--output is required");
	if (nkey_paths == 0)
		return cli_usage("package pack", "--key is required");
	hwpath_finish(&hw);
	build_time = (uint64_t)time(NULL);
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && rp_parse_u64z(sde, UINT64_C(1) << 40, &build_time))
		return cli_usage("package pack", "SOURCE_DATE_EPOCH '%s' is not a number", sde);
	if (stat(argv[optind], &st) < 0 || !S_ISDIR(st.st_mode))
		return cli_usage("package pack", "%s is not a directory", argv[optind]);
	if (inside(argv[optind], out))
		return cli_usage("package pack", "the output %s must not be inside the app "
				 "directory %s", out, argv[optind]);

	if (rp_file_read(manifest_path, RP_MANIFEST_MAX, &text, &e) ||
	    rp_manifest_parse(text.data, text.len, &m, &e)) {
		rp_err_prefix(&e, "manifest %s", manifest_path);
		ex = cli_fail(&e);
		goto out;
	}
	if (m->needs_board && !board_path) {
		rp_err_set(&e, RP_EPOLICY, "manifest %s names peripherals with \"$NAME\": "
			   "give the hardware definition with --board", manifest_path);
		ex = cli_fail(&e);
		goto out;
	}
	if (board_path) {
		if (rp_board_load(board_path, hw.dirs, &b, &e) ||
		    rp_manifest_resolve(m, b, &e)) {
			rp_err_prefix(&e, "manifest %s", manifest_path);
			ex = cli_fail(&e);
			goto out;
		}
	}
	if (check_entry(argv[optind], m->entry_point, &e) ||
	    rp_manifest_serialize(m, &stored, &e)) {
		ex = cli_fail(&e);
		goto out;
	}
	for (i = 0; i < nkey_paths; i++)
		if (keys_add(&keys, key_paths[i], 1, MAX_KEYS, &e)) {
			ex = cli_fail(&e);
			goto out;
		}
	if (!have_id) {
		if (rp_random(image_id, sizeof(image_id))) {
			rp_err_set(&e, RP_ECRYPTO, "no random bytes for the image id");
			ex = cli_fail(&e);
			goto out;
		}
		/* A random (version 4, RFC 4122 variant) GUID. */
		image_id[6] = (uint8_t)((image_id[6] & 0x0f) | 0x40);
		image_id[8] = (uint8_t)((image_id[8] & 0x3f) | 0x80);
	}
	memset(&po, 0, sizeof(po));
	po.dir = argv[optind];
	po.manifest = stored.data;
	po.manifest_len = stored.len;
	po.type = RP_IMAGE_APP;
	po.component_id = m->component_id;
	po.image_id = image_id;
	po.version = version;
	po.security_version = (uint32_t)secver;
	po.build_time = build_time;
	po.keys = (const struct rp_key *const *)keys.k;
	po.nkeys = keys.n;
	if (rp_pkg_pack(&po, out, &e)) {
		ex = cli_fail(&e);
		goto out;
	}
	rp_guid_format(image_id, idtext);
	printf("packed %s\n  app:          %s\n  component id: %s\n"
	       "  image id:     %s\n  version:      %s (security version %llu)\n",
	       out, m->name, m->component_id_text, idtext, version,
	       (unsigned long long)secver);
	for (i = 0; i < keys.n; i++) {
		rp_hex(rp_key_id(keys.k[i]), RP_KEYID_LEN, kid);
		printf("  signed by:    %s %s\n",
		       rp_key_type_name(rp_key_type(keys.k[i])), kid);
	}
	ex = EXIT_OK;
out:
	keys_free(&keys);
	rp_board_free(b);
	rp_manifest_free(m);
	rp_buf_free(&text);
	rp_buf_free(&stored);
	return ex;
}

static json_t *info_json(const char *path, const struct rp_image *img,
			 int verified)
{
	const struct rp_pkg_info *p = &img->pkg;
	char cid[37], iid[37], md[65], pd[65], kid[65];
	json_t *sigs = json_array(), *root;
	size_t i;

	rp_guid_format(p->hdr.component_id, cid);
	rp_guid_format(p->hdr.image_id, iid);
	rp_hex(p->hdr.manifest_sha256, RP_SHA256_LEN, md);
	rp_hex(p->hdr.payload_sha256, RP_SHA256_LEN, pd);
	for (i = 0; i < p->nsigs; i++) {
		rp_hex(p->sigs[i].key_id, RP_KEYID_LEN, kid);
		json_array_append_new(sigs, json_pack("{s:s, s:s, s:s}",
			"algorithm", rp_key_type_name(p->sigs[i].alg), "key_id", kid,
			"status", p->sigs[i].status == RP_SIG_VALID ? "valid" : "unchecked"));
	}
	root = json_pack("{s:s, s:I, s:b, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:{s:I, s:s}, s:{s:I, s:s, s:I, s:I}, s:o}",
		"file", path, "size", (json_int_t)p->file_len,
		"verified", verified,
		"image_type", rp_image_type_name(p->hdr.type),
		"format_version", (int)p->hdr.format_version,
		"component_id", cid, "image_id", iid,
		"version", p->hdr.version,
		"security_version", (json_int_t)p->hdr.security_version,
		"build_time", (json_int_t)p->hdr.build_time,
		"manifest", "size", (json_int_t)p->hdr.manifest_len, "sha256", md,
		"payload", "size", (json_int_t)p->hdr.payload_len, "sha256", pd,
		"entries", (json_int_t)p->nentries, "file_bytes", (json_int_t)p->nbytes,
		"signatures", sigs);
	if (root && img->manifest)
		json_object_set(root, "app_manifest", img->manifest->root);
	return root;
}

static void print_info(const char *path, const struct rp_image *img, int verified)
{
	const struct rp_pkg_info *p = &img->pkg;
	char cid[37], iid[37], md[65], pd[65], kid[65], when[32];
	time_t t = (time_t)p->hdr.build_time;
	struct tm tm;
	size_t i;

	rp_guid_format(p->hdr.component_id, cid);
	rp_guid_format(p->hdr.image_id, iid);
	rp_hex(p->hdr.manifest_sha256, RP_SHA256_LEN, md);
	rp_hex(p->hdr.payload_sha256, RP_SHA256_LEN, pd);
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		(void)snprintf(when, sizeof(when), "?");
	printf("package:          %s (%llu bytes)\n", path, (unsigned long long)p->file_len);
	printf("image type:       %s\n", rp_image_type_name(p->hdr.type));
	printf("component id:     %s\nimage id:         %s\n", cid, iid);
	printf("version:          %s (security version %u)\n", p->hdr.version,
	       p->hdr.security_version);
	printf("built:            %s\n", when);
	printf("manifest:         %llu bytes, sha256 %s\n",
	       (unsigned long long)p->hdr.manifest_len, md);
	printf("payload:          %llu entries, %llu bytes in files, sha256 %s\n",
	       (unsigned long long)p->nentries, (unsigned long long)p->nbytes, pd);
	for (i = 0; i < p->nsigs; i++) {
		rp_hex(p->sigs[i].key_id, RP_KEYID_LEN, kid);
		printf("signature %zu:      %s key %s: %s\n", i + 1,
		       rp_key_type_name(p->sigs[i].alg), kid,
		       p->sigs[i].status == RP_SIG_VALID ? "valid, trusted key"
							 : "not checked");
	}
	if (img->manifest) {
		const char *key;
		json_t *caps = json_object_get(img->manifest->root, "Capabilities"), *v;

		printf("app:              %s, EntryPoint %s\n", img->manifest->name,
		       img->manifest->entry_point);
		printf("capabilities:    ");
		if (!caps || json_object_size(caps) == 0)
			printf(" none");
		json_object_foreach(caps, key, v) {
			(void)v;
			printf(" %s", key);
		}
		printf("\n");
	}
	if (!verified)
		printf("\nNOT VERIFIED: integrity checked, but no signature was checked; "
		       "give --trust PUBKEY to verify.\n");
}

static int show_help(FILE *f)
{
	fprintf(f,
		"usage: rampart package show PKG [--trust PUBKEY]... [--json]\n\n"
		"Describe an image package: header, manifest, payload and signers.\n"
		"Without --trust only integrity is checked (digests and structure),\n"
		"and the output says so; with --trust the signatures are verified too.\n\n"
		"  -t, --trust PUBKEY   a public key to trust (repeatable)\n"
		"      --json           machine-readable output\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

static int verify_help(FILE *f)
{
	fprintf(f,
		"usage: rampart package verify PKG --trust PUBKEY... [--json]\n\n"
		"Verify an image package: a trusted signature over the header, the\n"
		"manifest and payload digests, the file length, the manifest's rules\n"
		"and the payload's structure. Exit 0 if it may be installed, 1 if it\n"
		"is refused, with the reason.\n\n"
		"  -t, --trust PUBKEY   a public key to trust (repeatable; required)\n"
		"      --json           machine-readable output\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

static int show_or_verify(int argc, char **argv, int verify)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = verify ? "package verify" : "package show";
	struct keyset trust = { .n = 0 };
	struct rp_image img;
	struct rp_err e;
	int c, json = 0, ex;

	memset(&img, 0, sizeof(img));
	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (keys_add(&trust, optarg, 0, MAX_TRUST, &e)) {
				ex = e.code == RP_EUSAGE ? cli_usage(cmd, "%s", e.msg)
							 : cli_fail(&e);
				goto out;
			}
			break;
		case 'j': json = 1; break;
		case 'h':
			ex = verify ? verify_help(stdout) : show_help(stdout);
			goto out;
		default:
			ex = verify ? verify_help(stderr) : show_help(stderr);
			goto out;
		}
	}
	if (argc - optind != 1) {
		ex = cli_usage(cmd, "expected one package file");
		goto out;
	}
	if (verify && trust.n == 0) {
		ex = cli_usage(cmd, "--trust PUBKEY is required");
		goto out;
	}
	if (rp_image_verify(argv[optind], (const struct rp_key *const *)trust.k,
			    trust.n, &img, &e)) {
		if (json && verify) {
			ex = cli_print_json(json_pack("{s:s, s:b, s:s}", "file",
				argv[optind], "verified", 0, "error", e.msg));
			ex = cli_exit_code(e.code);
			fprintf(stderr, "rampart: refused: %s\n", e.msg);
		} else {
			fprintf(stderr, "rampart: refused: %s\n", e.msg);
			ex = cli_exit_code(e.code);
		}
		goto out;
	}
	if (json)
		ex = cli_print_json(info_json(argv[optind], &img, trust.n > 0));
	else if (verify) {
		printf("verified: %s\n", argv[optind]);
		print_info(argv[optind], &img, 1);
		ex = EXIT_OK;
	} else {
		print_info(argv[optind], &img, trust.n > 0);
		ex = EXIT_OK;
	}
out:
	rp_image_free(&img);
	keys_free(&trust);
	return ex;
}

static int package_show(int argc, char **argv)
{
	return show_or_verify(argc, argv, 0);
}

static int package_verify(int argc, char **argv)
{
	return show_or_verify(argc, argv, 1);
}

int cmd_package(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "build", cmd_package_build, "build a Meson or CMake app and pack it" },
		{ "pack", package_pack, "pack and sign an app into an image package" },
		{ "show", package_show, "describe an image package" },
		{ "verify", package_verify, "verify an image package against trusted keys" },
		{ NULL, NULL, NULL },
	};
	return cli_dispatch("package", cmds, argc, argv);
}
