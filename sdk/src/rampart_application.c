/* rampart/application.h: the receiving side of inter-app channels (a
 * Rampart addition, not Azure's API). rampartd offers each channel as
 * {"incoming":"<ComponentId>"} with a descriptor on the app's oldest
 * app-socket connection (docs/formats/control-protocol.md); Listen opens
 * that connection and keeps it for the life of the app. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rampart/application.h>

#include "sdk_priv.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int listen_s = -1;
static int listen_dead; /* rampartd closed it (or spoke nonsense) */
static struct rp_sdk_lines listen_in;
static int sysevent_conns; /* open SysEvent registration connections */

void rp_sdk_sysevent_conns(int delta)
{
	pthread_mutex_lock(&mu);
	sysevent_conns += delta;
	pthread_mutex_unlock(&mu);
}

int Rampart_Application_Listen(void)
{
	int s, err = 0;

	pthread_mutex_lock(&mu);
	if (listen_s >= 0 && !listen_dead) {
		s = listen_s;
		goto out;
	}
	/* An open SysEvent connection would be older than this one, and
	 * offers would reach it instead. */
	if (sysevent_conns > 0) {
		s = -1;
		err = EBUSY;
		goto out;
	}
	if (listen_s >= 0) {
		rp_sdk_lines_reset(&listen_in);
		close(listen_s);
		listen_s = -1;
	}
	s = rp_sdk_connect();
	if (s < 0) {
		err = errno;
		goto out;
	}
	listen_s = s;
	listen_dead = 0;
	rp_sdk_lines_init(&listen_in);
out:
	pthread_mutex_unlock(&mu);
	if (s < 0)
		errno = err;
	return s;
}

/* The channel rampartd makes is one end of a SOCK_SEQPACKET socketpair. */
static int is_seqpacket(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	       type == SOCK_SEQPACKET;
}

/* One line taken from the connection: 1 with an offer (*ch, id filled),
 * 0 for a line that is not an offer (skipped), -1 with errno. */
static int one(char id[RAMPART_COMPONENT_ID_SIZE], int *ch)
{
	json_t *m = NULL, *v;
	int fd = -1, rc;

	rc = rp_sdk_lines_read(listen_s, &listen_in, 0, &m, &fd);
	if (rc == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (rc < 0) {
		int err = errno;

		if (err == EPROTO && listen_in.len >= RP_SDK_LINE_MAX) {
			/* An over-long line: the framing is lost. End the
			 * connection; the next call reports ECONNRESET. */
			shutdown(listen_s, SHUT_RDWR);
			rp_sdk_lines_reset(&listen_in);
		} else if (err != EPROTO && err != EINTR) {
			listen_dead = 1;
		}
		errno = err;
		return -1;
	}
	v = json_object_get(m, "incoming");
	if (!v) {
		/* Not an offer: a newer rampartd may send more than this
		 * SDK knows. */
		if (fd >= 0)
			close(fd);
		json_decref(m);
		return 0;
	}
	if (!json_is_string(v) || !rp_sdk_is_guid(json_string_value(v)) || fd < 0 ||
	    !is_seqpacket(fd)) {
		if (fd >= 0)
			close(fd);
		json_decref(m);
		errno = EPROTO;
		return -1;
	}
	memcpy(id, json_string_value(v), RAMPART_COMPONENT_ID_SIZE);
	json_decref(m);
	*ch = fd;
	return 1;
}

int Rampart_Application_Accept(int listenFd, char componentId[RAMPART_COMPONENT_ID_SIZE])
{
	int ch = -1, rc, err;

	if (!componentId) {
		errno = EFAULT;
		return -1;
	}
	pthread_mutex_lock(&mu);
	if (listenFd < 0 || listenFd != listen_s) {
		pthread_mutex_unlock(&mu);
		errno = EBADF;
		return -1;
	}
	if (listen_dead) {
		rc = -1;
		errno = ECONNRESET;
	} else {
		while ((rc = one(componentId, &ch)) == 0)
			;
	}
	err = errno;
	pthread_mutex_unlock(&mu);
	if (rc < 0) {
		errno = err;
		return -1;
	}
	return ch;
}
