/* Replays a fuzz target's corpus as an ordinary test, so every seed and
 * every crash once found keeps running without libFuzzer. Each argument is
 * a file or a directory of files. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (16u << 20)

static int run_file(const char *path)
{
	struct rp_buf b;
	struct rp_err e;
	int rc;

	rp_err_clear(&e);
	rc = rp_file_read(path, REPLAY_MAX, &b, &e);
	if (rc) {
		fprintf(stderr, "replay: %s\n", e.msg);
		return 1;
	}
	(void)LLVMFuzzerTestOneInput(b.data, b.len);
	rp_buf_free(&b);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
	struct dirent *d;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	DIR *dp = opendir(dir);
	int bad = 0;

	if (!dp) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((d = readdir(dp)) != NULL) {
		char **nn;

		if (d->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				bad = 1;
				break;
			}
			names = nn;
		}
		names[n] = strdup(d->d_name);
		if (!names[n]) {
			bad = 1;
			break;
		}
		n++;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (w > 0 && (size_t)w < sizeof(path) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			bad |= run_file(path);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int bad = 0, i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			bad |= run_dir(argv[i], &count);
		} else {
			bad |= run_file(argv[i]);
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replayed %zu inputs\n", count);
	return bad;
}
