/* rampart package build: configure and build a Meson or CMake app against
 * the applibs SDK, then pack and sign it with `rampart package pack` (run
 * as a child of this same program, so every check of pack applies).
 *
 * The SDK is found next to this program in a build tree
 * (<build>/meson-uninstalled/applibs-uninstalled.pc and
 * <build>/sdk/cmake/AzureSphereToolchain.cmake), else under the installed
 * prefix (RP_SDK_PC_DIR, RP_SDK_CMAKE_DIR). Tool output goes to
 * <build-dir>/rampart-build.log. docs/sdk.md describes the conventions. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define ARGS_MAX 64
#define HW_DIRS_MAX 16

struct sdk {
	char self[PATH_MAX];      /* this program */
	char pc_dir[PATH_MAX];    /* holds applibs(-uninstalled).pc */
	char toolchain[PATH_MAX]; /* AzureSphereToolchain.cmake */
};

struct argv_b {
	const char *v[ARGS_MAX + 1];
	size_t n;
};

static int add(struct argv_b *a, const char *s)
{
	if (a->n >= ARGS_MAX)
		return -1;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static int isfile(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int find_sdk(struct sdk *s)
{
	char root[PATH_MAX], t[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", s->self, sizeof(s->self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	s->self[n] = '\0';
	/* A build tree: <root>/cli/rampart. */
	memcpy(root, s->self, (size_t)n + 1);
	slash = strrchr(root, '/');
	if (slash) {
		*slash = '\0';
		slash = strrchr(root, '/');
	}
	if (slash) {
		*slash = '\0';
		if (join(s->pc_dir, sizeof(s->pc_dir), root, "meson-uninstalled") == 0 &&
		    join(t, sizeof(t), s->pc_dir, "applibs-uninstalled.pc") == 0 && isfile(t) &&
		    join(s->toolchain, sizeof(s->toolchain), root,
			 "sdk/cmake/AzureSphereToolchain.cmake") == 0 && isfile(s->toolchain))
			return 0;
	}
	if (join(t, sizeof(t), RP_SDK_PC_DIR, "applibs.pc") == 0 && isfile(t) &&
	    join(s->toolchain, sizeof(s->toolchain), RP_SDK_CMAKE_DIR,
		 "AzureSphereToolchain.cmake") == 0 && isfile(s->toolchain)) {
		(void)snprintf(s->pc_dir, sizeof(s->pc_dir), "%s", RP_SDK_PC_DIR);
		return 0;
	}
	return -1;
}

/* Run argv with stdout and stderr appended to the log (or inherited when
 * log < 0) and PKG_CONFIG_PATH starting with pc_dir. Returns the exit
 * status, 127 if it could not run, or -1 with errno. */
static int run(const struct argv_b *a, int log, const char *pc_dir)
{
	pid_t pid;
	int st;

	if (log >= 0) {
		size_t i;

		(void)!write(log, "$", 1);
		for (i = 0; i < a->n; i++) {
			(void)!write(log, " ", 1);
			(void)!write(log, a->v[i], strlen(a->v[i]));
		}
		(void)!write(log, "\n", 1);
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *old = getenv("PKG_CONFIG_PATH");
		char pcp[2 * PATH_MAX];

		if (old && *old)
			(void)snprintf(pcp, sizeof(pcp), "%s:%s", pc_dir, old);
		else
			(void)snprintf(pcp, sizeof(pcp), "%s", pc_dir);
		setenv("PKG_CONFIG_PATH", pcp, 1);
		if (log >= 0 && (dup2(log, 1) < 0 || dup2(log, 2) < 0))
			_exit(127);
		execvp(a->v[0], (char *const *)(uintptr_t)a->v);
		dprintf(2, "rampart: cannot run %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int step(const char *what, const struct argv_b *a, int log, const char *pc_dir,
		const char *log_path)
{
	int rc;

	fprintf(stderr, "rampart: %s\n", what);
	rc = run(a, log, pc_dir);
	if (rc == 0)
		return 0;
	if (rc == 127)
		fprintf(stderr, "rampart: %s failed: %s could not be run (is it installed?); "
			"see %s\n", what, a->v[0], log_path);
	else if (rc < 0)
		fprintf(stderr, "rampart: %s failed: %s\n", what, strerror(errno));
	else
		fprintf(stderr, "rampart: %s failed: %s exited with status %d; see %s\n",
			what, a->v[0], rc, log_path);
	return -1;
}

static int rmtree(const char *p, int log, const char *pc_dir)
{
	struct argv_b a = { .n = 0 };

	add(&a, "rm");
	add(&a, "-rf");
	add(&a, "--");
	add(&a, p);
	return run(&a, log, pc_dir) == 0 ? 0 : -1;
}

static int help(FILE *f)
{
	fprintf(f,
		"usage: rampart package build [--source DIR] --key KEY -o OUT.rpk [options]\n\n"
		"Build the app in DIR (default .) against the applibs SDK and pack it\n"
		"into a signed image package. DIR holds meson.build or CMakeLists.txt\n"
		"(an Azure Sphere style project using the azsphere_* functions) and\n"
		"app_manifest.json. Meson projects install their program as bin/app\n"
		"(install : true) and their other files with install_data; CMake\n"
		"projects use azsphere_target_add_image_package.\n\n"
		"options:\n"
		"  --source DIR          the project (default .)\n"
		"  --build-dir DIR       where to build (default DIR/build-rampart)\n"
		"  --board BOARD.json    resolve \"$NAME\" peripherals of the manifest through\n"
		"                        this hardware definition (CMake: default the\n"
		"                        project's TARGET_DEFINITION)\n"
		"  --hw-dir DIR          where imported definitions are looked up (repeat)\n"
		"  --key KEY             signing key (repeat for several signatures)\n"
		"  -o, --output OUT      the package to write\n"
		"  --image-version V, --security-version N  passed to package pack\n"
		"Tool output goes to BUILD-DIR/rampart-build.log.\n");
	return EXIT_OK;
}

/* The CMake layer's description of the image (rampart-image.json). */
struct image {
	char approot[PATH_MAX], manifest[PATH_MAX], board[PATH_MAX];
	char hw_dirs[HW_DIRS_MAX][PATH_MAX];
	size_t n_hw;
};

static int read_image(const char *build, struct image *im)
{
	char p[PATH_MAX];
	json_error_t jerr;
	json_t *j, *v;
	size_t i;
	int rc = -1;

	memset(im, 0, sizeof(*im));
	if (join(p, sizeof(p), build, "rampart-image.json"))
		return -1;
	j = json_load_file(p, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		fprintf(stderr, "rampart: %s: %s (does CMakeLists.txt call "
			"azsphere_target_add_image_package?)\n", p, jerr.text);
		return -1;
	}
#define STR(key, dst)                                                          \
	do {                                                                   \
		const char *s_ = json_string_value(json_object_get(j, key));   \
		if (!s_ || strlen(s_) >= sizeof(dst))                         \
			goto out;                                              \
		memcpy(dst, s_, strlen(s_) + 1);                               \
	} while (0)
	STR("approot", im->approot);
	STR("manifest", im->manifest);
	STR("board", im->board);
#undef STR
	json_array_foreach(json_object_get(j, "hw_dirs"), i, v) {
		const char *s = json_string_value(v);

		if (!s || strlen(s) >= PATH_MAX || im->n_hw >= HW_DIRS_MAX)
			goto out;
		memcpy(im->hw_dirs[im->n_hw++], s, strlen(s) + 1);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "rampart: %s: malformed\n", p);
	json_decref(j);
	return rc;
}

int cmd_package_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "build-dir", required_argument, NULL, 'B' },
		{ "board", required_argument, NULL, 'b' },
		{ "hw-dir", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "image-version", required_argument, NULL, 'V' },
		{ "security-version", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *source = ".", *build_opt = NULL, *board = NULL, *out = NULL;
	const char *version = NULL, *secver = NULL;
	const char *keys[8], *hw[HW_DIRS_MAX];
	size_t nkeys = 0, nhw = 0, i;
	char src[PATH_MAX], build[PATH_MAX], log_path[PATH_MAX], t[PATH_MAX];
	char root[PATH_MAX], manifest[PATH_MAX], cli_def[PATH_MAX + 16];
	char tc_def[PATH_MAX + 32], destdir[PATH_MAX + 16];
	struct image *im = NULL;
	struct argv_b a;
	struct sdk sdk;
	int c, log = -1, ex = EXIT_REFUSED, meson;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': source = optarg; break;
		case 'B': build_opt = optarg; break;
		case 'b': board = optarg; break;
		case 'o': out = optarg; break;
		case 'V': version = optarg; break;
		case 'S': secver = optarg; break;
		case 'k':
			if (nkeys >= sizeof(keys) / sizeof(keys[0]))
				return cli_usage("package build", "too many --key");
			keys[nkeys++] = optarg;
			break;
		case 'd':
			if (nhw >= HW_DIRS_MAX)
				return cli_usage("package build", "too many --hw-dir");
			hw[nhw++] = optarg;
			break;
		case 'h': return help(stdout);
		default: return cli_usage("package build", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage("package build", "unexpected argument '%s'", argv[optind]);
	if (!nkeys || !out)
		return cli_usage("package build", "--key and -o are required");
	if (!realpath(source, src)) {
		fprintf(stderr, "rampart: --source %s: %s\n", source, strerror(errno));
		return EXIT_IO;
	}
	if (join(t, sizeof(t), src, "meson.build") == 0 && isfile(t))
		meson = 1;
	else if (join(t, sizeof(t), src, "CMakeLists.txt") == 0 && isfile(t))
		meson = 0;
	else {
		fprintf(stderr, "rampart: no project in %s: it has neither meson.build nor "
			"CMakeLists.txt\n", src);
		return EXIT_REFUSED;
	}
	if (find_sdk(&sdk)) {
		fprintf(stderr, "rampart: the applibs SDK was not found next to this program "
			"nor under %s and %s\n", RP_SDK_PC_DIR, RP_SDK_CMAKE_DIR);
		return EXIT_IO;
	}
	if (build_opt) {
		if (mkdir(build_opt, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "rampart: --build-dir %s: %s\n", build_opt, strerror(errno));
			return EXIT_IO;
		}
		if (!realpath(build_opt, build))
			return EXIT_IO;
	} else if (join(build, sizeof(build), src, "build-rampart") ||
		   (mkdir(build, 0755) < 0 && errno != EEXIST)) {
		fprintf(stderr, "rampart: cannot make %s/build-rampart: %s\n", src,
			strerror(errno));
		return EXIT_IO;
	}
	if (join(log_path, sizeof(log_path), build, "rampart-build.log"))
		return EXIT_IO;
	log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log < 0) {
		fprintf(stderr, "rampart: %s: %s\n", log_path, strerror(errno));
		return EXIT_IO;
	}

	im = calloc(1, sizeof(*im));
	if (!im) {
		ex = EXIT_INTERNAL;
		goto out;
	}
	if (meson) {
		if (join(t, sizeof(t), build, "build.ninja") || !isfile(t)) {
			a.n = 0;
			add(&a, "meson");
			add(&a, "setup");
			add(&a, build);
			add(&a, src);
			add(&a, "--prefix=/");
			add(&a, "--bindir=bin");
			add(&a, "--buildtype=release");
			if (step("configuring (meson)", &a, log, sdk.pc_dir, log_path))
				goto out;
		}
		a.n = 0;
		add(&a, "meson");
		add(&a, "compile");
		add(&a, "-C");
		add(&a, build);
		if (step("building (meson compile)", &a, log, sdk.pc_dir, log_path))
			goto out;
		if (join(root, sizeof(root), build, "rampart-approot") ||
		    rmtree(root, log, sdk.pc_dir))
			goto io;
		(void)snprintf(destdir, sizeof(destdir), "--destdir=%s", root);
		a.n = 0;
		add(&a, "meson");
		add(&a, "install");
		add(&a, "-C");
		add(&a, build);
		add(&a, "--no-rebuild");
		add(&a, destdir);
		if (step("laying out the image (meson install)", &a, log, sdk.pc_dir, log_path))
			goto out;
		if (join(manifest, sizeof(manifest), src, "app_manifest.json"))
			goto io;
	} else {
		(void)snprintf(tc_def, sizeof(tc_def), "-DCMAKE_TOOLCHAIN_FILE=%s", sdk.toolchain);
		(void)snprintf(cli_def, sizeof(cli_def), "-DRAMPART_CLI=%s", sdk.self);
		a.n = 0;
		add(&a, "cmake");
		add(&a, "-S");
		add(&a, src);
		add(&a, "-B");
		add(&a, build);
		add(&a, tc_def);
		add(&a, cli_def);
		/* rampart packs below; the CMake layer must not. */
		add(&a, "-DRAMPART_SIGNING_KEY=");
		add(&a, "-DCMAKE_BUILD_TYPE=Release");
		if (step("configuring (cmake)", &a, log, sdk.pc_dir, log_path))
			goto out;
		a.n = 0;
		add(&a, "cmake");
		add(&a, "--build");
		add(&a, build);
		if (step("building (cmake --build)", &a, log, sdk.pc_dir, log_path))
			goto out;
		if (read_image(build, im))
			goto out;
		(void)snprintf(root, sizeof(root), "%s", im->approot);
		(void)snprintf(manifest, sizeof(manifest), "%s", im->manifest);
		if (!board && im->board[0])
			board = im->board;
	}
	if (!isfile(manifest)) {
		fprintf(stderr, "rampart: no app manifest: %s\n", manifest);
		goto out;
	}

	a.n = 0;
	add(&a, sdk.self);
	add(&a, "package");
	add(&a, "pack");
	add(&a, root);
	add(&a, "--manifest");
	add(&a, manifest);
	add(&a, "-o");
	add(&a, out);
	for (i = 0; i < nkeys; i++) {
		add(&a, "--key");
		add(&a, keys[i]);
	}
	if (board) {
		add(&a, "--board");
		add(&a, board);
	}
	for (i = 0; i < nhw; i++) {
		add(&a, "--hw-dir");
		add(&a, hw[i]);
	}
	for (i = 0; i < im->n_hw; i++) {
		add(&a, "--hw-dir");
		add(&a, im->hw_dirs[i]);
	}
	if (version) {
		add(&a, "--image-version");
		add(&a, version);
	}
	if (secver && (add(&a, "--security-version") || add(&a, secver)))
		goto out;
	fprintf(stderr, "rampart: packing %s\n", out);
	/* pack's own messages are the useful ones: let them through. */
	c = run(&a, -1, sdk.pc_dir);
	if (c != 0) {
		fprintf(stderr, "rampart: packing failed (status %d)\n", c);
		ex = c > 0 && c < 5 ? c : EXIT_INTERNAL;
		goto out;
	}
	ex = EXIT_OK;
	goto out;
io:
	ex = EXIT_IO;
out:
	free(im);
	if (log >= 0)
		close(log);
	return ex;
}
