/* hello: the smallest Rampart app. It prints a greeting, and the file the
 * package ships beside it when it can read it; the runtime's demo runs it
 * in a compartment. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char line[256];
	FILE *f;

	printf("hello from a Rampart app\n");
	/* An app's package is its root file system on the device. */
	f = fopen(argc > 1 ? argv[1] : "/share/greeting.txt", "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		printf("greeting: %s\n", line);
	}
	fclose(f);
	return 0;
}
