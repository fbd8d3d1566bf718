/* The app-socket client: one JSON line per message, descriptors by
 * SCM_RIGHTS (docs/formats/control-protocol.md, peripheral-protocol.md). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sdk_priv.h"

int rp_sdk_connect(void)
{
	const char *path = getenv(RP_SDK_APP_SOCKET_ENV);
	struct sockaddr_un sa;
	size_t n;
	int s;

	if (!path || !*path)
		path = RP_SDK_APP_SOCKET;
	n = strlen(path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, n + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(s);
		errno = err;
		return -1;
	}
	return s;
}

int rp_sdk_send(int s, json_t *req)
{
	char buf[RP_SDK_LINE_MAX + 1];
	size_t n, off = 0;

	n = json_dumpb(req, buf, sizeof(buf), JSON_COMPACT);
	if (n == 0 || n >= sizeof(buf)) {
		errno = n ? EMSGSIZE : ENOMEM;
		return -1;
	}
	buf[n++] = '\n';
	while (off < n) {
		ssize_t w = send(s, buf + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

void rp_sdk_lines_init(struct rp_sdk_lines *l)
{
	l->len = 0;
	l->fd = -1;
	l->fd_end = 0;
}

void rp_sdk_lines_reset(struct rp_sdk_lines *l)
{
	if (l->fd >= 0)
		close(l->fd);
	rp_sdk_lines_init(l);
}

/* One recvmsg into the free end of the buffer. Returns bytes, 0 at end of
 * stream, -1 with errno. Descriptors beyond the first are closed. */
static ssize_t fill(int s, struct rp_sdk_lines *l)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(4 * sizeof(int))];
	} cb;
	struct iovec iov = { l->buf + l->len, sizeof(l->buf) - l->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c;
	ssize_t r;

	do
		r = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t i, nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (l->fd < 0) {
				l->fd = fd;
				l->fd_end = l->len + (size_t)r;
			} else {
				close(fd);
			}
		}
	}
	l->len += (size_t)r;
	return r;
}

/* Take the first whole line out of the buffer, if there is one. Returns 1
 * with it, 0 when there is none, -1 (EPROTO) for a bad line. */
static int take(struct rp_sdk_lines *l, json_t **msg, int *fd)
{
	char *nl = memchr(l->buf, '\n', l->len);
	json_error_t jerr;
	size_t k;
	json_t *v;

	if (!nl) {
		if (l->len >= RP_SDK_LINE_MAX) {
			errno = EPROTO;
			return -1;
		}
		return 0;
	}
	k = (size_t)(nl - l->buf);
	if (k + 1 > RP_SDK_LINE_MAX) {
		errno = EPROTO;
		return -1;
	}
	*fd = -1;
	if (l->fd >= 0 && l->fd_end <= k + 1) {
		*fd = l->fd;
		l->fd = -1;
		l->fd_end = 0;
	} else if (l->fd >= 0) {
		l->fd_end -= k + 1;
	}
	v = json_loadb(l->buf, k, JSON_REJECT_DUPLICATES, &jerr);
	memmove(l->buf, l->buf + k + 1, l->len - k - 1);
	l->len -= k + 1;
	if (!v || !json_is_object(v)) {
		json_decref(v);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	*msg = v;
	return 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rp_sdk_lines_read(int s, struct rp_sdk_lines *l, int timeout_ms, json_t **msg,
		      int *fd)
{
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;

	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		int rc = take(l, msg, fd), wait;
		ssize_t r;

		if (rc)
			return rc;
		r = fill(s, l);
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (r > 0)
			continue;
		if (errno != EAGAIN)
			return -1;
		if (timeout_ms == 0) {
			errno = EAGAIN;
			return 0;
		}
		wait = -1;
		if (timeout_ms > 0) {
			long long left = deadline - now_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return 0;
			}
			wait = (int)left;
		}
		rc = poll(&p, 1, wait);
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int rp_sdk_reply_error(json_t *msg)
{
	json_t *code = json_object_get(msg, "code");
	json_int_t c;

	if (!code)
		return 0;
	c = json_is_integer(code) ? json_integer_value(code) : 0;
	/* A negative errno, or one of Rampart's own codes (lib/base/err.h,
	 * -1000 and below) mapped to the errno the Azure API documents. */
	if (c < 0 && c > -1000)
		errno = (int)-c;
	else if (c == -1005) /* RP_EPOLICY: refused by the app's manifest */
		errno = EACCES;
	else
		errno = EIO;
	return -1;
}

int rp_sdk_call(json_t *req, json_t **reply, int *fd)
{
	struct rp_sdk_lines l;
	json_t *msg = NULL;
	int s, rc = -1, mfd = -1, err = 0;
	long long deadline;

	*reply = NULL;
	if (fd)
		*fd = -1;
	s = rp_sdk_connect();
	if (s < 0)
		return -1;
	rp_sdk_lines_init(&l);
	if (rp_sdk_send(s, req) < 0) {
		err = errno;
		goto out;
	}
	deadline = now_ms() + RP_SDK_REPLY_MS;
	for (;;) {
		long long left = deadline - now_ms();
		int r;

		if (left <= 0) {
			err = ETIMEDOUT;
			goto out;
		}
		r = rp_sdk_lines_read(s, &l, (int)left, &msg, &mfd);
		if (r <= 0) {
			err = r == 0 ? ETIMEDOUT : errno;
			goto out;
		}
		/* A partner's channel offer may reach this connection if it
		 * is the app's oldest one; it is not our reply. */
		if (!json_object_get(msg, "incoming"))
			break;
		json_decref(msg);
		msg = NULL;
		if (mfd >= 0)
			close(mfd);
		mfd = -1;
	}
	if (rp_sdk_reply_error(msg)) {
		err = errno;
		goto out;
	}
	*reply = msg;
	msg = NULL;
	if (fd) {
		*fd = mfd;
		mfd = -1;
	}
	rc = 0;
out:
	json_decref(msg);
	if (mfd >= 0)
		close(mfd);
	rp_sdk_lines_reset(&l);
	close(s);
	if (rc)
		errno = err;
	return rc;
}

int rp_sdk_open(const char *cap, long long id, json_t *extra)
{
	json_t *req, *reply = NULL;
	int fd = -1, err;

	req = json_pack("{s:s,s:I}", "open", cap, "id", (json_int_t)id);
	if (!req || (extra && json_object_update(req, extra))) {
		json_decref(req);
		errno = ENOMEM;
		return -1;
	}
	if (rp_sdk_call(req, &reply, &fd) < 0) {
		err = errno;
		json_decref(req);
		errno = err;
		return -1;
	}
	json_decref(req);
	json_decref(reply);
	if (fd < 0) {
		errno = EPROTO; /* a success reply must carry the descriptor */
		return -1;
	}
	rp_sdk_state_drop(fd);
	return fd;
}

int rp_sdk_kind(int fd, enum rp_sdk_kind *kind)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		errno = EBADF;
		return -1;
	}
	if (S_ISSOCK(st.st_mode))
		*kind = RP_SDK_SOCKET;
	else if (S_ISCHR(st.st_mode))
		*kind = RP_SDK_CHAR;
	else
		*kind = RP_SDK_OTHER;
	return 0;
}

int rp_sdk_ph(int fd, const struct rp_ph_msg *req, struct rp_ph_msg *rep, uint8_t *buf)
{
	int rc = rp_ph_call(fd, req, rep, buf, RP_SDK_PH_MS);

	if (rc < 0) {
		/* A descriptor that is not an rpph socket fails here. */
		errno = rc == -ENOTSOCK || rc == -EPROTO || rc == -EBADMSG ? EBADF : -rc;
		return -1;
	}
	if (rep->status) {
		errno = rep->status;
		return -1;
	}
	return 0;
}
