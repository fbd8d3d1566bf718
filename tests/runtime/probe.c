/* probe: a tiny app for rampartd's system tests. The mode is argv[1]
 * (the manifest's CmdArgs):
 *   hello        print a line, then wait; exit 0 on SIGTERM
 *   exit N       print a line and exit with code N
 *   crash        print a line and crash (SIGSEGV from a null write)
 *   ignore-term  ignore SIGTERM and wait (only SIGKILL stops it)
 *   fds          print the open descriptors, then wait
 *   escape       try what the manifest does not grant (read /etc/shadow,
 *                connect to 192.0.2.1:80), print each refusal, exit 1 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_term(int sig)
{
	static const char msg[] = "probe: SIGTERM, exiting\n";

	(void)sig;
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(0);
}

static void wait_forever(void)
{
	for (;;)
		pause();
}

static int code_of(const char *s)
{
	int n = 0;

	for (; *s >= '0' && *s <= '9' && n < 1000; s++)
		n = n * 10 + (*s - '0');
	return n & 255;
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	printf("probe: fds");
	if (!d) {
		printf(" unreadable (%s)\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && code_of(de->d_name) != dirfd(d))
			printf(" %s", de->d_name);
	printf("\n");
	closedir(d);
}

static void escape(void)
{
	struct sockaddr_in sa;
	int fd;

	fd = open("/etc/shadow", O_RDONLY);
	if (fd < 0)
		printf("probe: open /etc/shadow refused: %s\n", strerror(errno));
	else
		printf("probe: open /etc/shadow SUCCEEDED\n");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(80);
	inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		printf("probe: socket refused: %s\n", strerror(errno));
	else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		printf("probe: connect 192.0.2.1:80 refused: %s\n", strerror(errno));
	else
		printf("probe: connect 192.0.2.1:80 SUCCEEDED\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "hello";

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("probe: started, mode %s, pid %d, uid %d\n", mode, (int)getpid(),
	       (int)getuid());
	if (strcmp(mode, "exit") == 0)
		return code_of(argc > 2 ? argv[2] : "0");
	if (strcmp(mode, "crash") == 0) {
		/* A real fault: as pid 1 of its namespace the app would not
		 * die from raise(SIGSEGV) with the default action. */
		volatile uintptr_t zero = 0;

		fflush(stdout);
		*(volatile int *)zero = 1;
		return 0;
	}
	if (strcmp(mode, "ignore-term") == 0) {
		signal(SIGTERM, SIG_IGN);
		wait_forever();
	}
	if (strcmp(mode, "fds") == 0)
		list_fds();
	if (strcmp(mode, "escape") == 0) {
		escape();
		return 1;
	}
	signal(SIGTERM, on_term);
	wait_forever();
	return 0;
}
