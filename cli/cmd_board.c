/* rampart board show | generate-header */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "cli.h"
#include "format/board.h"
#include "hwpath.h"

static int show_help(FILE *f)
{
	fprintf(f,
		"usage: rampart board show BOARD.json [--json] [--hw-dir DIR]...\n\n"
		"Load a hardware definition (Azure Sphere's format) and its imports,\n"
		"and list its peripherals: the name apps use, the type, what it maps\n"
		"to, the value it resolves to and the Linux resource behind it.\n\n"
		"  --json          machine-readable output\n"
		"  --hw-dir DIR    also look for imported definitions in DIR\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

static json_t *value_json(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

/* Integer or string AppManifestValue as text. */
static void value_text(const json_t *v, char *out, size_t cap)
{
	if (!v)
		(void)snprintf(out, cap, "-");
	else if (json_is_integer(v))
		(void)snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		(void)snprintf(out, cap, "\"%s\"", json_string_value(v));
	else
		(void)snprintf(out, cap, "?");
}

static int board_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "hw-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rp_board *b = NULL;
	struct hwpath hw;
	struct rp_err e;
	size_t i, n;
	int c, json = 0, ex;

	hwpath_init(&hw);
	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'd':
			if (hwpath_add(&hw, optarg))
				return cli_usage("board show", "too many --hw-dir");
			break;
		case 'h': return show_help(stdout);
		default: return show_help(stderr);
		}
	}
	if (argc - optind != 1)
		return cli_usage("board show", "expected one hardware definition file");
	hwpath_finish(&hw);
	if (rp_board_load(argv[optind], hw.dirs, &b, &e)) {
		ex = cli_fail(&e);
		goto out;
	}
	n = rp_board_count(b);
	if (json) {
		json_t *root = json_object(), *arr = json_array();

		for (i = 0; i < n; i++) {
			const struct rp_board_periph *p = rp_board_at(b, i);

			json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:o, s:s?, s:s?, s:s, s:b}",
				"name", p->name, "type", p->type,
				"mapping", p->mapping,
				"app_manifest_value", value_json(p->value),
				"linux", p->linux_res, "comment", p->comment,
				"file", p->file, "top_level", p->top_level));
		}
		json_object_set_new(root, "name", json_string(rp_board_name(b)));
		json_object_set_new(root, "file", json_string(argv[optind]));
		json_object_set_new(root, "peripherals", arr);
		ex = cli_print_json(root);
		goto out;
	}
	printf("board:       %s\nfile:        %s\n\n", rp_board_name(b), argv[optind]);
	printf("%-36s %-9s %-12s %s\n", "NAME", "TYPE", "VALUE", "LINUX / MAPS TO");
	for (i = 0; i < n; i++) {
		const struct rp_board_periph *p = rp_board_at(b, i);
		char val[64];

		if (!p->top_level)
			continue;
		value_text(p->value, val, sizeof(val));
		printf("%-36s %-9s %-12s %s\n", p->name, p->type, val,
		       p->linux_res ? p->linux_res : p->mapping ? p->mapping : "-");
	}
	ex = EXIT_OK;
out:
	rp_board_free(b);
	return ex;
}

static int header_help(FILE *f)
{
	fprintf(f,
		"usage: rampart board generate-header BOARD.json [-o HEADER]\n"
		"                                      [--hw-dir DIR]... [--stdout]\n\n"
		"Write the C header for a hardware definition, as Azure Sphere's\n"
		"tools do: by default inc/hw/<name>.h beside BOARD.json, so app\n"
		"sources can '#include \"hw/<name>.h\"' and use the same names as\n"
		"their app_manifest.json (\"$NAME\").\n\n"
		"  -o, --output HEADER  write here instead\n"
		"      --stdout         print the header instead of writing a file\n"
		"      --hw-dir DIR     also look for imported definitions in DIR\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

/* mkdir -p for the directories above path. */
static int make_parents(const char *path, struct rp_err *e)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path), i;

	if (n >= sizeof(tmp))
		return rp_err_set(e, RP_ERANGE, "%s: path too long", path);
	memcpy(tmp, path, n + 1);
	for (i = 1; i < n; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return rp_err_errno(e, errno, "%s", tmp);
		tmp[i] = '/';
	}
	return 0;
}

static int board_header(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "stdout", no_argument, NULL, 's' },
		{ "hw-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct rp_board *b = NULL;
	struct rp_buf hdr;
	struct hwpath hw;
	struct rp_err e;
	char path[PATH_MAX], dir[PATH_MAX];
	int c, to_stdout = 0, ex, w;

	hwpath_init(&hw);
	rp_buf_init(&hdr, 0);
	rp_err_clear(&e);
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 's': to_stdout = 1; break;
		case 'd':
			if (hwpath_add(&hw, optarg))
				return cli_usage("board generate-header", "too many --hw-dir");
			break;
		case 'h': return header_help(stdout);
		default: return header_help(stderr);
		}
	}
	if (argc - optind != 1)
		return cli_usage("board generate-header",
				 "expected one hardware definition file");
	hwpath_finish(&hw);
	if (rp_board_load(argv[optind], hw.dirs, &b, &e) ||
	    rp_board_header(b, &hdr, &e)) {
		ex = cli_fail(&e);
		goto out;
	}
	if (to_stdout) {
		ex = fwrite(hdr.data, 1, hdr.len, stdout) == hdr.len ? EXIT_OK : EXIT_IO;
		goto out;
	}
	if (!out) {
		if (strlen(argv[optind]) >= sizeof(dir)) {
			ex = cli_usage("board generate-header", "path too long");
			goto out;
		}
		memcpy(dir, argv[optind], strlen(argv[optind]) + 1);
		w = snprintf(path, sizeof(path), "%s/inc/hw/%s", dirname(dir),
			     rp_board_header_name(b));
		if (w < 0 || (size_t)w >= sizeof(path)) {
			ex = cli_usage("board generate-header", "path too long");
			goto out;
		}
		out = path;
	}
	if (make_parents(out, &e) ||
	    rp_file_write(out, hdr.data, hdr.len, 0644, 0, &e)) {
		ex = cli_fail(&e);
		goto out;
	}
	printf("wrote %s\n", out);
	ex = EXIT_OK;
out:
	rp_buf_free(&hdr);
	rp_board_free(b);
	return ex;
}

int cmd_board(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "show", board_show, "list a hardware definition's peripherals" },
		{ "generate-header", board_header, "write the C header apps include" },
		{ NULL, NULL, NULL },
	};
	return cli_dispatch("board", cmds, argc, argv);
}
