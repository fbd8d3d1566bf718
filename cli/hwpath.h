/* Where imported hardware definitions are looked up: each --hw-dir, then
 * the directories in $RAMPART_HW_PATH (colon-separated), then the
 * installed boards directory. */
#ifndef RP_CLI_HWPATH_H
#define RP_CLI_HWPATH_H

#define HWPATH_MAX 16

struct hwpath {
	const char *dirs[HWPATH_MAX + 1]; /* NULL-terminated */
	int n;
	char env[4096];                   /* owned copy of $RAMPART_HW_PATH */
};

void hwpath_init(struct hwpath *p);
/* Add a --hw-dir; returns -1 when there are too many. */
int hwpath_add(struct hwpath *p, const char *dir);
/* Append the environment and built-in directories. */
void hwpath_finish(struct hwpath *p);

#endif
