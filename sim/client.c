/* The control client of rampart-sim (sim.h): one request line to
 * DIR/control, one answer line ("ok[ PAYLOAD]" or "error MESSAGE"); `gpio
 * watch` then reads change lines "LINE VALUE" until it has enough. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define ANSWER_MAX (256 * 1024)
#define ANSWER_TIMEOUT_MS 10000

struct lines {
	int fd;
	size_t len;
	char buf[ANSWER_MAX];
	char ans[ANSWER_MAX]; /* the last line read */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control", dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rampart-sim: %s/control: path too long\n", dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "rampart-sim: %s: %s (is `rampart-sim serve --dir %s` running?)\n",
			sa.sun_path, strerror(errno), dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_line(int fd, const char *line)
{
	size_t n = strlen(line), off = 0;
	ssize_t w;

	while (off <= n) {
		const char *p = off < n ? line + off : "\n";
		size_t k = off < n ? n - off : 1;

		w = send(fd, p, k, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Next line (NUL-terminated, newline cut) into out; 0, 1 at end of stream
 * or timeout (deadline_ms < 0: none), -1 on error. */
static int next_line(struct lines *l, char *out, size_t cap, int64_t deadline_ms)
{
	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		int tmo = -1;
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - l->buf);

			if (n >= cap)
				return -1;
			memcpy(out, l->buf, n);
			out[n] = '\0';
			memmove(l->buf, nl + 1, l->len - n - 1);
			l->len -= n + 1;
			return 0;
		}
		if (l->len == sizeof(l->buf))
			return -1;
		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - mono_ms();

			if (left <= 0)
				return 1;
			tmo = (int)left;
		}
		r = poll(&p, 1, tmo);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;
		r = recv(l->fd, l->buf + l->len, sizeof(l->buf) - l->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;
		l->len += (size_t)r;
	}
}

static int answer_line(struct lines *l, const char *what)
{
	const char *answer = l->ans;
	int rc = next_line(l, l->ans, sizeof(l->ans), mono_ms() + ANSWER_TIMEOUT_MS);

	if (rc) {
		fprintf(stderr, "rampart-sim: %s: no answer from the simulator\n", what);
		return -1;
	}
	if (strncmp(answer, "error ", 6) == 0) {
		fprintf(stderr, "rampart-sim: %s\n", answer + 6);
		return -1;
	}
	if (strcmp(answer, "ok") != 0 && strncmp(answer, "ok ", 3) != 0) {
		fprintf(stderr, "rampart-sim: %s: unexpected answer\n", what);
		return -1;
	}
	return 0;
}

static struct lines *open_lines(const char *dir)
{
	struct lines *l = calloc(1, sizeof(*l));

	if (!l) {
		fprintf(stderr, "rampart-sim: out of memory\n");
		return NULL;
	}
	l->fd = dial(dir);
	if (l->fd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void close_lines(struct lines *l)
{
	if (l) {
		close(l->fd);
		free(l);
	}
}

int rp_sim_request(const char *dir, const char *line)
{
	struct lines *l = open_lines(dir);
	int rc = 1;

	if (!l)
		return 1;
	if (send_line(l->fd, line)) {
		fprintf(stderr, "rampart-sim: sending the request failed\n");
		goto out;
	}
	if (answer_line(l, line))
		goto out;
	if (l->ans[2])
		printf("%s\n", l->ans + 3);
	rc = fflush(stdout) ? 1 : 0;
out:
	close_lines(l);
	return rc;
}

int rp_sim_watch(const char *dir, unsigned line, unsigned count,
		 unsigned timeout_s)
{
	int64_t deadline = timeout_s ? mono_ms() + (int64_t)timeout_s * 1000 : -1;
	char req[64];
	unsigned seen = 0;
	int rc = 1, r;

	struct lines *l = open_lines(dir);

	if (!l)
		return 1;
	snprintf(req, sizeof(req), "gpio watch %u", line);
	if (send_line(l->fd, req) || answer_line(l, req))
		goto out;
	/* On stderr, so stdout holds only changes; a test waits for it. */
	fprintf(stderr, "watching line %u (value %s)\n", line, l->ans + 3);
	fflush(stderr);
	while (!count || seen < count) {
		r = next_line(l, l->ans, sizeof(l->ans), deadline);
		if (r == 1 && deadline >= 0 && mono_ms() >= deadline) {
			if (count) {
				fprintf(stderr, "rampart-sim: timeout: %u of %u changes seen\n",
					seen, count);
				goto out;
			}
			rc = 0;
			goto out;
		}
		if (r) {
			fprintf(stderr, "rampart-sim: the simulator closed the connection\n");
			goto out;
		}
		printf("%s\n", l->ans);
		fflush(stdout);
		seen++;
	}
	rc = 0;
out:
	close_lines(l);
	return rc;
}
