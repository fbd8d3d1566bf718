/* The only I/O of the control module: one SEQPACKET message, at most one
 * descriptor. */
#include "ctl/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int rp_ctl_send(int sock, const void *buf, size_t len, int fd, struct rp_err *e)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t w;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		w = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return rp_err_errno(e, errno, "send");
	if ((size_t)w != len)
		return rp_err_set(e, RP_EIO, "send: short write");
	return 0;
}

/* Close every descriptor a control message carried. */
static void close_fds(struct msghdr *msg)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd >= 0)
				close(fd);
		}
	}
}

int rp_ctl_recv(int sock, size_t cap, struct rp_buf *out, int *fd,
		int nonblock, struct rp_err *e)
{
	union {
		/* Room for a few: a peer sending more must not leave any
		 * behind in our table (MSG_CTRUNC closes nothing). */
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t r;
	int got = -1, nfds = 0, rc = 0;

	if (fd)
		*fd = -1;
	rp_buf_init(out, cap);
	/* One byte more than allowed, so an oversized message is seen as
	 * MSG_TRUNC rather than silently cut. */
	out->data = malloc(cap + 1);
	if (!out->data)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	out->alloc = cap + 1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = out->data;
	iov.iov_len = cap + 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nonblock ? MSG_DONTWAIT : 0));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		rc = errno == EAGAIN ?
			-EAGAIN : rp_err_errno(e, errno, "receive");
		goto out;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(0)) {
			nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds == 1)
				memcpy(&got, CMSG_DATA(c), sizeof(int));
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		rc = rp_err_set(e, RP_ERANGE, "message is over %zu bytes or carries "
				"too many descriptors", cap);
		goto out;
	}
	if (nfds > 1 || (nfds == 1 && !fd)) {
		rc = rp_err_set(e, RP_EFORMAT, "unexpected file descriptors");
		goto out;
	}
	if (r == 0 && nfds == 0) {
		rc = 1;
		goto out;
	}
	out->len = (size_t)r;
	if (fd && nfds == 1) {
		*fd = got;
		got = -1;
	}
out:
	if (rc && r >= 0)
		close_fds(&msg);
	if (rc)
		rp_buf_free(out);
	return rc;
}

void rp_ctl_lines_init(struct rp_ctl_lines *l)
{
	l->len = 0;
	l->fd = -1;
	l->fd_end = 0;
}

void rp_ctl_lines_free(struct rp_ctl_lines *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int rp_ctl_lines_fill(int sock, struct rp_ctl_lines *l, int accept_fd,
		      int nonblock, struct rp_err *e)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	size_t room = sizeof(l->buf) - l->len, i;
	ssize_t r;
	int got = -1, nfds = 0;

	if (room == 0)
		return rp_err_set(e, RP_ERANGE, "line over %d bytes", RP_CTL_CHAN_MAX);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = l->buf + l->len;
	iov.iov_len = room;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nonblock ? MSG_DONTWAIT : 0));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? -EAGAIN : rp_err_errno(e, errno, "receive");
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(0)) {
			nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds == 1)
				memcpy(&got, CMSG_DATA(c), sizeof(int));
		}
	if (nfds > 0 && (!accept_fd || nfds > 1 || l->fd >= 0 ||
			 (msg.msg_flags & MSG_CTRUNC))) {
		close_fds(&msg);
		return rp_err_set(e, RP_EFORMAT, "unexpected file descriptors");
	}
	if (r == 0 && nfds == 0)
		return 1;
	l->len += (size_t)r;
	if (nfds == 1) {
		/* The line the descriptor came with ends in this chunk. */
		for (i = l->len; i > 0 && l->buf[i - 1] != '\n'; i--)
			;
		if (i == 0) {
			close(got);
			return rp_err_set(e, RP_EFORMAT, "a descriptor without a message");
		}
		l->fd = got;
		l->fd_end = i;
	}
	return 0;
}

int rp_ctl_lines_next(struct rp_ctl_lines *l, uint8_t *out, size_t cap,
		      size_t *len, int *fd)
{
	uint8_t *nl = memchr(l->buf, '\n', l->len);
	size_t n, used;

	*len = 0;
	*fd = -1;
	if (!nl)
		return 1;
	n = (size_t)(nl - l->buf);
	used = n + 1;
	if (n <= cap) {
		memcpy(out, l->buf, n);
		*len = n;
	}
	if (l->fd >= 0 && l->fd_end == used) {
		*fd = l->fd;
		l->fd = -1;
	}
	memmove(l->buf, l->buf + used, l->len - used);
	l->len -= used;
	if (l->fd >= 0)
		l->fd_end -= used;
	return 0;
}
