/* Hardware definitions: Azure Sphere's JSON, plus Rampart's Linux mapping.
 *
 * A definition is loaded with its whole import chain. Each file is parsed,
 * validated and its peripherals appended; imports are followed depth
 * first with the files on the current path marked, so a cycle is seen as
 * soon as it closes. A file reached twice by different paths (a diamond)
 * is loaded once. When the chain is complete, names are checked for
 * uniqueness and every Mapping is resolved to a peripheral of the same
 * Type in a file the mapping file imports, directly or not; the base
 * peripheral's AppManifestValue and Linux resource are inherited. */
#include "format/board.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/json.h"

#define HW_TYPE "Azure Sphere Hardware Definition"
#define IMPORTS_MAX 16         /* per file */
#define IMPORT_PATH_MAX 1024
#define NAME_LEN_MAX 128       /* peripheral names: C identifiers */
#define DESC_NAME_MAX 256
#define COMMENT_MAX 4096
#define TOP_LINES_MAX 256
#define TOP_LINE_MAX 1024
#define HDR_VALUE_MAX 64
#define LINUX_PATH_MAX 255
#define LABEL_MAX 64
#define GPIO_VALUE_MAX 4095
#define LINE_MAX_VALUE 65535
#define CTRL_MAX 64
#define PATH_LEN 160           /* field paths in messages */
#define SHOW_MAX RP_SHOW_MAX

struct bfile {
	char *path;            /* as opened; peripherals point here */
	char *real;            /* canonical path, NULL for rp_board_parse */
	json_t *root;
	uint64_t reach;        /* bit i: file i is imported, directly or not */
	int loading;           /* on the current import path */
};

struct bperiph {
	struct rp_board_periph pub;
	size_t file;
	size_t idx;            /* position in its file's Peripherals */
	const json_t *own_value;
	char *synth;           /* owned "(n)" header value, or NULL */
	char *res;             /* owned linux_res, or NULL */
	int state;             /* mapping resolution: 0 new, 1 busy, 2 done */
};

struct rp_board {
	struct bfile files[RP_BOARD_FILES_MAX];
	size_t nfiles;
	struct bperiph *p;
	size_t n;
	size_t alloc;
	char *header_name;
};

static const char *const types[] = {
	"Gpio", "Uart", "I2cMaster", "SpiMaster", "Pwm", "Adc", "int", NULL,
};

/* Field paths for messages; truncation is harmless (advisory text). */
static void pathf(char *out, const char *fmt, ...) RP_PRINTF(2, 3);

static void pathf(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
}

static const char *article(const char *word)
{
	return word[0] && strchr("AEIOaeio", word[0]) ? "an" : "a";
}

/* Text that ends up after "//" or "#define X" in the header: a trailing
 * backslash would splice the next line into it. */
static int get_line(json_t *v, const char *path, size_t max, int allow_empty,
		    const char **out, struct rp_err *e)
{
	size_t len;
	int rc = rp_json_text(v, path, max, RP_JSON_TAB_OK |
				    (allow_empty ? RP_JSON_EMPTY_OK : 0), out, e);

	if (rc)
		return rc;
	len = strlen(*out);
	if (len && (*out)[len - 1] == '\\')
		return rp_err_set(e, RP_EFORMAT,
				  "%s: must not end with a backslash", path);
	return 0;
}

static int is_ident(const char *s)
{
	size_t i;

	if (!s[0] || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return i <= NAME_LEN_MAX;
}

static int is_controller(const char *s)
{
	size_t i;

	if (!s[0])
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return i <= CTRL_MAX;
}

/* A Linux path Rampart may hand to an app: absolute, under /dev, /sys or
 * /run, plain characters, no empty, "." or ".." components. */
static int is_linux_path(const char *s)
{
	size_t i, start;

	if (strncmp(s, "/dev/", 5) != 0 && strncmp(s, "/sys/", 5) != 0 &&
	    strncmp(s, "/run/", 5) != 0)
		return 0;
	if (strlen(s) > LINUX_PATH_MAX)
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._:+@-/", s[i])))
			return 0;
	for (start = 1, i = 1;; i++) {
		if (s[i] && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return 0;
		if (!s[i])
			break;
		start = i + 1;
	}
	return 1;
}

static int is_label(const char *s)
{
	size_t i;

	if (!s[0])
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i])))
			return 0;
	return i <= LABEL_MAX;
}

static char *dup_printf(const char *fmt, ...) RP_PRINTF(1, 2);

static char *dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* "Rampart": {"Linux": {...}} on a base peripheral. */
static int parse_rampart(struct bperiph *bp, json_t *v, const char *path,
			 struct rp_err *e)
{
	static const char *const rkeys[] = { "Linux", NULL };
	static const char *const gpio_keys[] = { "Chip", "ChipLabel", "Line", NULL };
	static const char *const dev_keys[] = { "Device", NULL };
	static const char *const pwm_keys[] = { "Chip", NULL };
	const char *type = bp->pub.type, *s, *key;
	char lp[PATH_LEN], kp[PATH_LEN], sh[SHOW_MAX + 4];
	json_t *lx, *x;
	long long line;
	int rc;

	if (!json_is_object(v))
		return rp_json_type_err(e, path, "an object", v);
	if ((rc = rp_json_only_keys(v, rkeys, path, e)))
		return rc;
	pathf(lp, "%s.Linux", path);
	lx = json_object_get(v, "Linux");
	if (!lx)
		return rp_err_set(e, RP_EFORMAT, "%s: required key is missing", lp);
	if (!json_is_object(lx))
		return rp_json_type_err(e, lp, "an object", lx);
	if (strcmp(type, "Gpio") == 0) {
		if ((rc = rp_json_only_keys(lx, gpio_keys, lp, e)))
			return rc;
		if (!!json_object_get(lx, "Chip") == !!json_object_get(lx, "ChipLabel"))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: give exactly one of Chip and ChipLabel", lp);
		pathf(kp, "%s.Line", lp);
		if (!(x = json_object_get(lx, "Line")))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: required key is missing", kp);
		if ((rc = rp_json_int(x, kp, 0, LINE_MAX_VALUE, &line, e)))
			return rc;
		bp->pub.linux_line = (int)line;
		if ((x = json_object_get(lx, "Chip"))) {
			pathf(kp, "%s.Chip", lp);
			if ((rc = rp_json_text(x, kp, LINUX_PATH_MAX, RP_JSON_TAB_OK, &s, e)))
				return rc;
			/* /dev: a kernel gpiochip; /run: a simulated one
			 * (rampart-sim's rpph socket, docs/sim.md). */
			if ((strncmp(s, "/dev/", 5) != 0 && strncmp(s, "/run/", 5) != 0) ||
			    !is_linux_path(s))
				return rp_err_set(e, RP_EFORMAT,
						  "%s: \"%s\" is not a path under /dev or /run",
						  kp, rp_show(s, sh));
			bp->pub.linux_path = s;
		} else {
			x = json_object_get(lx, "ChipLabel");
			pathf(kp, "%s.ChipLabel", lp);
			if ((rc = rp_json_text(x, kp, LABEL_MAX, RP_JSON_TAB_OK, &s, e)))
				return rc;
			if (!is_label(s))
				return rp_err_set(e, RP_EFORMAT,
						  "%s: \"%s\" is not a gpiochip label",
						  kp, rp_show(s, sh));
			bp->pub.linux_label = s;
		}
		bp->res = dup_printf("%s line %lld", s, line);
	} else {
		const char *const *keys = dev_keys;

		if (strcmp(type, "Pwm") == 0)
			keys = pwm_keys;
		key = keys[0];
		if ((rc = rp_json_only_keys(lx, keys, lp, e)))
			return rc;
		pathf(kp, "%s.%s", lp, key);
		if (!(x = json_object_get(lx, key)))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: required key is missing", kp);
		if ((rc = rp_json_text(x, kp, LINUX_PATH_MAX, RP_JSON_TAB_OK, &s, e)))
			return rc;
		if (!is_linux_path(s))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not a path under /dev, /sys or /run",
					  kp, rp_show(s, sh));
		bp->pub.linux_path = s;
		bp->res = dup_printf("%s", s);
	}
	if (!bp->res)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	bp->pub.linux_res = bp->res;
	return 0;
}

static int add_periph(struct rp_board *b, struct bperiph **out,
		      struct rp_err *e)
{
	struct bperiph *np;

	if (b->n >= RP_BOARD_PERIPH_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "more than %d peripherals in the import chain",
				  RP_BOARD_PERIPH_MAX);
	if (b->n == b->alloc) {
		size_t na = b->alloc ? b->alloc * 2 : 64;

		if (na > RP_BOARD_PERIPH_MAX)
			na = RP_BOARD_PERIPH_MAX;
		np = realloc(b->p, na * sizeof(*np));
		if (!np)
			return rp_err_set(e, RP_ENOMEM, "out of memory");
		b->p = np;
		b->alloc = na;
	}
	np = &b->p[b->n++];
	memset(np, 0, sizeof(*np));
	np->pub.linux_line = -1;
	*out = np;
	return 0;
}

static int parse_periph(struct rp_board *b, size_t file, size_t idx,
			json_t *v, struct rp_err *e)
{
	static const char *const keys[] = {
		"Name", "Type", "Mapping", "AppManifestValue",
		"MainCoreHeaderValue", "Comment", "Rampart", NULL,
	};
	char path[PATH_LEN], kp[PATH_LEN], sh[SHOW_MAX + 4];
	struct bperiph *bp;
	const char *s;
	const char *const *t;
	json_t *x, *av;
	int rc;

	pathf(path, "Peripherals[%zu]", idx);
	if (!json_is_object(v))
		return rp_json_type_err(e, path, "an object", v);
	if ((rc = rp_json_only_keys(v, keys, path, e)))
		return rc;
	if ((rc = add_periph(b, &bp, e)))
		return rc;
	bp->file = file;
	bp->idx = idx;
	bp->pub.file = b->files[file].path;
	bp->pub.top_level = file == 0;

	pathf(kp, "%s.Name", path);
	if (!(x = json_object_get(v, "Name")))
		return rp_err_set(e, RP_EFORMAT, "%s: required key is missing", kp);
	if ((rc = rp_json_text(x, kp, NAME_LEN_MAX, RP_JSON_TAB_OK, &s, e)))
		return rc;
	if (!is_ident(s))
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" is not a C identifier", kp, rp_show(s, sh));
	bp->pub.name = s;

	pathf(kp, "%s.Type", path);
	if (!(x = json_object_get(v, "Type")))
		return rp_err_set(e, RP_EFORMAT, "%s: required key is missing", kp);
	if ((rc = rp_json_text(x, kp, NAME_LEN_MAX, RP_JSON_TAB_OK, &s, e)))
		return rc;
	for (t = types; *t; t++)
		if (strcmp(*t, s) == 0)
			break;
	if (!*t)
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" is not a peripheral type (Gpio, Uart, I2cMaster, SpiMaster, Pwm, Adc, int)",
				  kp, rp_show(s, sh));
	bp->pub.type = *t;

	if ((x = json_object_get(v, "Comment"))) {
		pathf(kp, "%s.Comment", path);
		if ((rc = get_line(x, kp, COMMENT_MAX, 1, &s, e)))
			return rc;
		bp->pub.comment = s;
	}

	av = json_object_get(v, "AppManifestValue");
	if ((x = json_object_get(v, "Mapping"))) {
		pathf(kp, "%s.Mapping", path);
		if ((rc = rp_json_text(x, kp, NAME_LEN_MAX, RP_JSON_TAB_OK, &s, e)))
			return rc;
		if (!is_ident(s))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not a C identifier", kp,
					  rp_show(s, sh));
		if (av || json_object_get(v, "MainCoreHeaderValue") ||
		    json_object_get(v, "Rampart"))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: a peripheral with a Mapping takes no AppManifestValue, MainCoreHeaderValue or Rampart",
					  path);
		bp->pub.mapping = s;
		bp->pub.header_value = s;
		return 0;
	}

	/* A base peripheral. */
	pathf(kp, "%s.AppManifestValue", path);
	if (strcmp(bp->pub.type, "int") == 0) {
		if (av)
			return rp_err_set(e, RP_EFORMAT,
					  "%s: an int is not a peripheral and has no value in app manifests",
					  kp);
		if (json_object_get(v, "Rampart"))
			return rp_err_set(e, RP_EFORMAT,
					  "%s.Rampart: an int has no Linux resource", path);
	} else if (!av) {
		return rp_err_set(e, RP_EFORMAT,
				  "%s: a peripheral without a Mapping needs an AppManifestValue",
				  path);
	} else if (strcmp(bp->pub.type, "Gpio") == 0) {
		long long n;

		if ((rc = rp_json_int(av, kp, 0, GPIO_VALUE_MAX, &n, e)))
			return rc;
	} else {
		if ((rc = rp_json_text(av, kp, CTRL_MAX, RP_JSON_TAB_OK, &s, e)))
			return rc;
		if (!is_controller(s))
			return rp_err_set(e, RP_EFORMAT,
					  "%s: \"%s\" is not a controller name such as \"ISU0\"",
					  kp, rp_show(s, sh));
	}
	bp->own_value = av;
	bp->pub.value = av;

	if ((x = json_object_get(v, "MainCoreHeaderValue"))) {
		pathf(kp, "%s.MainCoreHeaderValue", path);
		if ((rc = get_line(x, kp, HDR_VALUE_MAX, 0, &s, e)))
			return rc;
		bp->pub.header_value = s;
	} else if (av && json_is_integer(av)) {
		bp->synth = dup_printf("(%lld)", (long long)json_integer_value(av));
		if (!bp->synth)
			return rp_err_set(e, RP_ENOMEM, "out of memory");
		bp->pub.header_value = bp->synth;
	} else {
		return rp_err_set(e, RP_EFORMAT,
				  "%s: needs a MainCoreHeaderValue (the value C code sees)",
				  path);
	}

	if ((x = json_object_get(v, "Rampart"))) {
		pathf(kp, "%s.Rampart", path);
		if ((rc = parse_rampart(bp, x, kp, e)))
			return rc;
	}
	return 0;
}

/* An import path: relative, forward slashes, ending in ".json". */
static int check_import(json_t *v, size_t i, const char **out,
			struct rp_err *e)
{
	static const char *const keys[] = { "Path", NULL };
	char path[PATH_LEN], kp[PATH_LEN], sh[SHOW_MAX + 4];
	const char *s, *base;
	size_t len;
	json_t *x;
	int rc;

	pathf(path, "Imports[%zu]", i);
	if (!json_is_object(v))
		return rp_json_type_err(e, path, "an object", v);
	if ((rc = rp_json_only_keys(v, keys, path, e)))
		return rc;
	pathf(kp, "%s.Path", path);
	if (!(x = json_object_get(v, "Path")))
		return rp_err_set(e, RP_EFORMAT, "%s: required key is missing", kp);
	if ((rc = rp_json_text(x, kp, IMPORT_PATH_MAX, RP_JSON_TAB_OK, &s, e)))
		return rc;
	len = strlen(s);
	base = strrchr(s, '/');
	base = base ? base + 1 : s;
	if (s[0] == '/' || strchr(s, '\\') || strchr(s, '"') ||
	    strchr(s, '\t') || len < 6 || strcmp(s + len - 5, ".json") != 0 ||
	    strlen(base) < 6)
		return rp_err_set(e, RP_EFORMAT,
				  "%s: \"%s\" is not a relative path to a .json file",
				  kp, rp_show(s, sh));
	*out = s;
	return 0;
}

static int check_metadata(json_t *root, struct rp_err *e)
{
	static const char *const keys[] = { "Type", "Version", NULL };
	char sh[SHOW_MAX + 4];
	json_t *md, *x;
	const char *s;
	long long n;
	int rc;

	if (!(md = json_object_get(root, "Metadata")))
		return rp_err_set(e, RP_EFORMAT, "Metadata: required key is missing");
	if (!json_is_object(md))
		return rp_json_type_err(e, "Metadata", "an object", md);
	if ((rc = rp_json_only_keys(md, keys, "Metadata", e)))
		return rc;
	if (!(x = json_object_get(md, "Type")))
		return rp_err_set(e, RP_EFORMAT,
				  "Metadata.Type: required key is missing");
	if ((rc = rp_json_text(x, "Metadata.Type", 64, RP_JSON_TAB_OK | RP_JSON_EMPTY_OK, &s, e)))
		return rc;
	if (strcmp(s, HW_TYPE) != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "Metadata.Type: must be \"" HW_TYPE "\", got \"%s\"",
				  rp_show(s, sh));
	if (!(x = json_object_get(md, "Version")))
		return rp_err_set(e, RP_EFORMAT,
				  "Metadata.Version: required key is missing");
	if (!json_is_integer(x))
		return rp_json_type_err(e, "Metadata.Version", "an integer", x);
	n = (long long)json_integer_value(x);
	if (n != 1)
		return rp_err_set(e, RP_EFORMAT,
				  "Metadata.Version: must be 1, got %lld", n);
	return 0;
}

static int check_description(json_t *root, struct rp_err *e)
{
	static const char *const keys[] = {
		"Name", "MainCoreHeaderFileTopContent", NULL,
	};
	char kp[PATH_LEN];
	json_t *d, *x;
	const char *s;
	size_t i, n;
	int rc;

	if (!(d = json_object_get(root, "Description")))
		return rp_err_set(e, RP_EFORMAT,
				  "Description: required key is missing");
	if (!json_is_object(d))
		return rp_json_type_err(e, "Description", "an object", d);
	if ((rc = rp_json_only_keys(d, keys, "Description", e)))
		return rc;
	if (!(x = json_object_get(d, "Name")))
		return rp_err_set(e, RP_EFORMAT,
				  "Description.Name: required key is missing");
	if ((rc = rp_json_text(x, "Description.Name", DESC_NAME_MAX, RP_JSON_TAB_OK, &s, e)))
		return rc;
	if (!(x = json_object_get(d, "MainCoreHeaderFileTopContent")))
		return 0;
	if (!json_is_array(x))
		return rp_json_type_err(e, "Description.MainCoreHeaderFileTopContent",
				"an array", x);
	n = json_array_size(x);
	if (n > TOP_LINES_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "Description.MainCoreHeaderFileTopContent: %zu lines, at most %d",
				  n, TOP_LINES_MAX);
	for (i = 0; i < n; i++) {
		pathf(kp, "Description.MainCoreHeaderFileTopContent[%zu]", i);
		if ((rc = rp_json_text(json_array_get(x, i), kp, TOP_LINE_MAX,
				       RP_JSON_TAB_OK | RP_JSON_EMPTY_OK, &s, e)))
			return rc;
	}
	return 0;
}

/* Validate file f's own content and append its peripherals. */
static int check_file(struct rp_board *b, size_t f, struct rp_err *e)
{
	static const char *const keys[] = {
		"Metadata", "Description", "Imports", "Peripherals", NULL,
	};
	json_t *root = b->files[f].root, *x;
	const char *s;
	size_t i, n;
	int rc;

	if (!json_is_object(root))
		return rp_err_set(e, RP_EFORMAT,
				  "the document: expected an object, got %s",
				  rp_json_type_name(root));
	if ((rc = rp_json_only_keys(root, keys, "", e)) ||
	    (rc = check_metadata(root, e)) || (rc = check_description(root, e)))
		return rc;
	if ((x = json_object_get(root, "Imports"))) {
		if (!json_is_array(x))
			return rp_json_type_err(e, "Imports", "an array", x);
		n = json_array_size(x);
		if (n > IMPORTS_MAX)
			return rp_err_set(e, RP_ERANGE,
					  "Imports: %zu entries, at most %d", n,
					  IMPORTS_MAX);
		for (i = 0; i < n; i++)
			if ((rc = check_import(json_array_get(x, i), i, &s, e)))
				return rc;
	}
	if ((x = json_object_get(root, "Peripherals"))) {
		if (!json_is_array(x))
			return rp_json_type_err(e, "Peripherals", "an array", x);
		n = json_array_size(x);
		for (i = 0; i < n; i++)
			if ((rc = parse_periph(b, f, i, json_array_get(x, i), e)))
				return rc;
	}
	return 0;
}

static int add_file(struct rp_board *b, const char *path, const char *real,
		    const uint8_t *buf, size_t len, size_t *out,
		    struct rp_err *e)
{
	struct bfile *f;
	int rc;

	if (b->nfiles >= RP_BOARD_FILES_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "more than %d files in the import chain",
				  RP_BOARD_FILES_MAX);
	f = &b->files[b->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	f->real = real ? strdup(real) : NULL;
	if (!f->path || (real && !f->real)) {
		free(f->path);
		free(f->real);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	*out = b->nfiles++;
	rc = rp_json_parse(buf, len, RP_BOARD_FILE_MAX, &f->root, e);
	if (rc)
		return rc;
	return check_file(b, *out, e);
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* dir + "/" + rel into out; 0 or RP_ERANGE. */
static int join_path(char *out, size_t cap, const char *dir, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);

	return n < 0 || (size_t)n >= cap ? RP_ERANGE : 0;
}

static int load_file(struct rp_board *b, const char *path,
		     const char *const *search, size_t depth, size_t *out,
		     struct rp_err *e);

static int load_imports(struct rp_board *b, size_t f,
			const char *const *search, size_t depth,
			struct rp_err *e)
{
	char dir[PATH_MAX], cand[PATH_MAX], sh[SHOW_MAX + 4];
	json_t *imports = json_object_get(b->files[f].root, "Imports");
	const char *slash;
	size_t i, n = json_array_size(imports), child;
	int rc;

	/* The importing file's directory, as it was named (like #include). */
	slash = strrchr(b->files[f].path, '/');
	if (!slash) {
		memcpy(dir, ".", 2);
	} else if (slash == b->files[f].path) {
		memcpy(dir, "/", 2);
	} else {
		if ((size_t)(slash - b->files[f].path) >= sizeof(dir))
			return rp_err_set(e, RP_ERANGE, "path too long");
		memcpy(dir, b->files[f].path, (size_t)(slash - b->files[f].path));
		dir[slash - b->files[f].path] = '\0';
	}

	for (i = 0; i < n; i++) {
		const char *rel = json_string_value(
			json_object_get(json_array_get(imports, i), "Path"));
		const char *const *sd;
		int found = 0;

		if (depth + 1 > RP_BOARD_IMPORT_DEPTH)
			return rp_err_set(e, RP_ERANGE,
					  "Imports[%zu]: imports nest deeper than %d files",
					  i, RP_BOARD_IMPORT_DEPTH);
		if (join_path(cand, sizeof(cand), dir, rel) == 0 && exists(cand))
			found = 1;
		for (sd = search; !found && sd && *sd; sd++)
			if (join_path(cand, sizeof(cand), *sd, rel) == 0 &&
			    exists(cand))
				found = 1;
		if (!found)
			return rp_err_set(e, RP_EIO,
					  "Imports[%zu].Path: \"%s\" is found neither next to the file nor in a search directory",
					  i, rp_show(rel, sh));
		rc = load_file(b, cand, search, depth + 1, &child, e);
		if (rc)
			return rp_err_prefix(e, "Imports[%zu]", i);
		b->files[f].reach |= (uint64_t)1 << child | b->files[child].reach;
	}
	return 0;
}

static int load_file(struct rp_board *b, const char *path,
		     const char *const *search, size_t depth, size_t *out,
		     struct rp_err *e)
{
	struct rp_buf text;
	char *real = NULL;
	size_t i, f;
	int rc;

	rp_buf_init(&text, RP_BOARD_FILE_MAX);
	real = realpath(path, NULL);
	if (!real) {
		rc = rp_err_errno(e, errno, "%s", path);
		goto out;
	}
	for (i = 0; i < b->nfiles; i++) {
		if (!b->files[i].real || strcmp(b->files[i].real, real) != 0)
			continue;
		if (b->files[i].loading) {
			rc = rp_err_set(e, RP_EFORMAT,
					"%s: import cycle: the file imports itself",
					path);
			goto out;
		}
		*out = i; /* reached again through another path */
		rc = 0;
		goto out;
	}
	if ((rc = rp_file_read(real, RP_BOARD_FILE_MAX, &text, e)))
		goto out;
	rc = add_file(b, path, real, text.data, text.len, &f, e);
	if (rc) {
		rp_err_prefix(e, "%s", path);
		goto out;
	}
	b->files[f].loading = 1;
	rc = load_imports(b, f, search, depth, e);
	b->files[f].loading = 0;
	if (rc) {
		rp_err_prefix(e, "%s", path);
		goto out;
	}
	*out = f;
out:
	free(real);
	rp_buf_free(&text);
	return rc;
}

static struct bperiph *find(struct rp_board *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->p[i].pub.name, name) == 0)
			return &b->p[i];
	return NULL;
}

static int check_names(struct rp_board *b, struct rp_err *e)
{
	char sh[SHOW_MAX + 4];
	size_t i, j;

	for (i = 1; i < b->n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(b->p[i].pub.name, b->p[j].pub.name) == 0)
				return rp_err_set(e, RP_EFORMAT,
						  "%s: Peripherals[%zu].Name: \"%s\" is already defined%s%s",
						  b->p[i].pub.file, b->p[i].idx,
						  rp_show(b->p[i].pub.name, sh),
						  b->p[i].file == b->p[j].file ? "" : " in ",
						  b->p[i].file == b->p[j].file ? "" :
						  b->p[j].pub.file);
	return 0;
}

/* Resolve bp's Mapping (recursively, bounded by the acyclic import graph
 * and the in-progress mark). With `follow` 0 (one file, imports not
 * loaded) a Mapping only has to point outside its own file. */
static int resolve(struct rp_board *b, struct bperiph *bp, int follow,
		   struct rp_err *e)
{
	char sh[SHOW_MAX + 4];
	struct bperiph *t;
	int rc;

	if (bp->state == 2 || !bp->pub.mapping) {
		bp->state = 2;
		return 0;
	}
	if (bp->state == 1)
		return rp_err_set(e, RP_EFORMAT, "%s: Peripherals[%zu].Mapping: mappings form a loop",
				  bp->pub.file, bp->idx);
	t = find(b, bp->pub.mapping);
	if (t && t->file == bp->file)
		return rp_err_set(e, RP_EFORMAT,
				  "%s: Peripherals[%zu].Mapping: \"%s\" is defined in the same file; a Mapping names a peripheral of an imported file",
				  bp->pub.file, bp->idx, rp_show(bp->pub.mapping, sh));
	if (!follow) {
		bp->state = 2;
		return 0;
	}
	if (!t || !((b->files[bp->file].reach >> t->file) & 1))
		return rp_err_set(e, RP_EFORMAT,
				  "%s: Peripherals[%zu].Mapping: \"%s\" is not defined by any imported file",
				  bp->pub.file, bp->idx, rp_show(bp->pub.mapping, sh));
	if (strcmp(t->pub.type, bp->pub.type) != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "%s: Peripherals[%zu].Mapping: \"%s\" is %s %s, not %s %s",
				  bp->pub.file, bp->idx, rp_show(bp->pub.mapping, sh),
				  article(t->pub.type), t->pub.type,
				  article(bp->pub.type), bp->pub.type);
	bp->state = 1;
	rc = resolve(b, t, follow, e);
	if (rc)
		return rc;
	bp->pub.value = t->pub.value;
	bp->pub.linux_res = t->pub.linux_res;
	bp->pub.linux_path = t->pub.linux_path;
	bp->pub.linux_label = t->pub.linux_label;
	bp->pub.linux_line = t->pub.linux_line;
	bp->state = 2;
	return 0;
}

static int finish(struct rp_board *b, int follow, struct rp_err *e)
{
	const char *base, *dot;
	size_t i, stem;
	int rc;

	if ((rc = check_names(b, e)))
		return rc;
	for (i = 0; i < b->n; i++)
		if ((rc = resolve(b, &b->p[i], follow, e)))
			return rc;
	base = strrchr(b->files[0].path, '/');
	base = base ? base + 1 : b->files[0].path;
	dot = strrchr(base, '.');
	stem = dot && strcmp(dot, ".json") == 0 ? (size_t)(dot - base) :
	       strlen(base);
	b->header_name = malloc(stem + 3);
	if (!b->header_name)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	memcpy(b->header_name, base, stem);
	memcpy(b->header_name + stem, ".h", 3);
	return 0;
}

int rp_board_load(const char *path, const char *const *search_dirs,
		  struct rp_board **out, struct rp_err *e)
{
	struct rp_board *b = NULL;
	size_t top;
	int rc;

	b = calloc(1, sizeof(*b));
	if (!b) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = load_file(b, path, search_dirs, 0, &top, e)) ||
	    (rc = finish(b, 1, e)))
		goto out;
	*out = b;
	b = NULL;
out:
	rp_board_free(b);
	return rc;
}

int rp_board_parse(const uint8_t *buf, size_t len, const char *label,
		   struct rp_board **out, struct rp_err *e)
{
	struct rp_board *b = NULL;
	size_t top;
	int rc;

	b = calloc(1, sizeof(*b));
	if (!b) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (!label || !*label)
		label = "board.json";
	rc = add_file(b, label, NULL, buf, len, &top, e);
	if (rc) {
		rp_err_prefix(e, "%s", label);
		goto out;
	}
	if ((rc = finish(b, 0, e)))
		goto out;
	*out = b;
	b = NULL;
out:
	rp_board_free(b);
	return rc;
}

const char *rp_board_name(const struct rp_board *b)
{
	json_t *d;

	if (!b || b->nfiles == 0)
		return NULL;
	d = json_object_get(b->files[0].root, "Description");
	return json_string_value(json_object_get(d, "Name"));
}

size_t rp_board_count(const struct rp_board *b)
{
	return b ? b->n : 0;
}

const struct rp_board_periph *rp_board_at(const struct rp_board *b, size_t i)
{
	if (!b || i >= b->n)
		return NULL;
	return &b->p[i].pub;
}

const struct rp_board_periph *rp_board_find(const struct rp_board *b,
					    const char *name)
{
	size_t i;

	if (!b || !name)
		return NULL;
	for (i = 0; i < b->n; i++)
		if (strcmp(b->p[i].pub.name, name) == 0)
			return &b->p[i].pub;
	return NULL;
}

const char *rp_board_header_name(const struct rp_board *b)
{
	return b ? b->header_name : NULL;
}

/* The layout of the header Azure Sphere's tools write (compare
 * HardwareDefinitions/mt3620_rdb/inc/hw/sample_appliance.h): top content
 * lines, a blank line, the notice, a blank line, "#pragma once", the
 * includes followed by a blank line when there are any, then for each
 * peripheral an optional comment, its #define and a blank line. */
int rp_board_header(const struct rp_board *b, struct rp_buf *out,
		    struct rp_err *e)
{
	json_t *d, *top, *imports;
	const char *base;
	size_t i, n;
	int rc = 0;

	rp_buf_init(out, RP_BOARD_HEADER_MAX);
	if (!b || b->nfiles == 0)
		return rp_err_set(e, RP_EUSAGE, "no board");
	d = json_object_get(b->files[0].root, "Description");
	top = json_object_get(d, "MainCoreHeaderFileTopContent");
	n = json_array_size(top);
	for (i = 0; i < n && !rc; i++)
		rc = rp_buf_printf(out, "%s\n",
				   json_string_value(json_array_get(top, i)));
	if (!rc && n)
		rc = rp_buf_printf(out, "\n");
	base = strrchr(b->files[0].path, '/');
	base = base ? base + 1 : b->files[0].path;
	if (!rc)
		rc = rp_buf_printf(out,
				   "// This file is autogenerated from ../../%s.  Do not edit it directly.\n\n#pragma once\n",
				   base);
	imports = json_object_get(b->files[0].root, "Imports");
	n = json_array_size(imports);
	for (i = 0; i < n && !rc; i++) {
		const char *p = json_string_value(
			json_object_get(json_array_get(imports, i), "Path"));
		const char *ib = strrchr(p, '/');

		ib = ib ? ib + 1 : p;
		rc = rp_buf_printf(out, "#include \"%.*s.h\"\n",
				   (int)(strlen(ib) - 5), ib);
	}
	if (!rc && n)
		rc = rp_buf_printf(out, "\n");
	for (i = 0; i < b->n && !rc; i++) {
		const struct rp_board_periph *p = &b->p[i].pub;

		if (b->p[i].file != 0)
			continue;
		if (p->comment && p->comment[0])
			rc = rp_buf_printf(out, "// %s\n", p->comment);
		if (!rc)
			rc = rp_buf_printf(out, "#define %s %s\n\n", p->name,
					   p->header_value);
	}
	if (rc) {
		rp_buf_free(out);
		return rp_err_set(e, rc, "header: %s",
				  rc == RP_ERANGE ? "larger than the limit" :
				  "out of memory");
	}
	return 0;
}

void rp_board_free(struct rp_board *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->p[i].synth);
		free(b->p[i].res);
	}
	free(b->p);
	for (i = 0; i < b->nfiles; i++) {
		free(b->files[i].path);
		free(b->files[i].real);
		json_decref(b->files[i].root);
	}
	free(b->header_name);
	free(b);
}
