/* partner: an app for the inter-app channel tests. It connects to its
 * rampartd socket (/run/rampart/app.sock, or $RAMPART_APP_SOCKET) and
 *   - answers every incoming channel: reads a message, replies "pong";
 *   - with a ComponentId argument, asks for a channel to that app every
 *     second (at most 300 times), sends "ping" over it and prints the answer or the refusal.
 * Each outcome is one line on stdout for the test to read in the logs.
 * (The SDK wraps this protocol as Application_Connect and
 * Rampart_Application_Listen/Accept; this test app speaks it raw.) */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "format/manifest.h"

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int connect_rampartd(void)
{
	const char *path = getenv("RAMPART_APP_SOCKET");
	struct sockaddr_un sa;
	int fd;

	if (!path)
		path = "/run/rampart/app.sock";
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("partner: cannot reach %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

static void serve(int ch, const char *from)
{
	char buf[256];
	ssize_t n = recv(ch, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return;
	buf[n] = '\0';
	printf("partner: incoming from %s: %s\n", from, buf);
	(void)!send(ch, "pong", 4, MSG_NOSIGNAL);
}

static void use(int ch, const char *to)
{
	struct pollfd p = { .fd = ch, .events = POLLIN };
	char buf[256];
	ssize_t n;

	if (send(ch, "ping", 4, MSG_NOSIGNAL) != 4 || poll(&p, 1, 5000) != 1 ||
	    (n = recv(ch, buf, sizeof(buf) - 1, 0)) <= 0) {
		printf("partner: channel to %s broke\n", to);
		return;
	}
	buf[n] = '\0';
	printf("partner: connected to %s: %s\n", to, buf);
}

int main(int argc, char **argv)
{
	const char *target = argc > 1 ? argv[1] : NULL;
	struct rp_ctl_lines in;
	uint8_t tid[16];
	int s, tries = 0;
	time_t next_try = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (target && rp_guid_parse(target, strlen(target), tid)) {
		printf("partner: %s is not a GUID\n", target);
		return 2;
	}
	s = connect_rampartd();
	if (s < 0)
		return 1;
	rp_ctl_lines_init(&in);
	printf("partner: ready%s%s\n", target ? ", connecting to " : "",
	       target ? target : "");
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		uint8_t line[RP_CTL_CHAN_MAX];
		size_t n;
		int fd, rc;

		if (target && tries < 300 && now_s() >= next_try) {
			next_try = now_s() + 1;
			char req[RP_CTL_CHAN_MAX];
			struct rp_err e;

			tries++;
			if (rp_ctl_chan_encode("connect", tid, req, sizeof(req), &n, &e) ||
			    rp_ctl_send(s, req, n, -1, &e))
				printf("partner: send: %s\n", e.msg);
		}
		if (poll(&p, 1, 1000) != 1)
			continue;
		{
			struct rp_err e;

			rc = rp_ctl_lines_fill(s, &in, 1, 0, &e);
			if (rc == 1) {
				printf("partner: rampartd closed the socket\n");
				return 1;
			}
			if (rc) {
				printf("partner: recv: %s\n", e.msg);
				return 1;
			}
		}
		while (rp_ctl_lines_next(&in, line, sizeof(line), &n, &fd) == 0) {
			struct rp_err e, remote;
			const char *kind;
			uint8_t id[16];
			char idt[37];

			rc = rp_ctl_chan_decode_reply(line, n, &kind, id, &remote, &e);
			rp_guid_format(id, idt);
			if (rc)
				printf("partner: bad message: %s\n", e.msg);
			else if (strcmp(kind, "error") == 0)
				printf("partner: refused: %s\n", remote.msg);
			else if (fd < 0)
				printf("partner: %s without a descriptor\n", kind);
			else if (strcmp(kind, "incoming") == 0)
				serve(fd, idt);
			else
				use(fd, idt);
			if (fd >= 0)
				close(fd);
		}
	}
}
