/* The stub's host resolver, off rampartd's event loop.
 *
 * getaddrinfo blocks for as long as the host resolver takes, so it runs in
 * worker threads of the guard's own: one is started when a question finds
 * none idle, up to RP_NET_DNS_WORKERS, so one slow name does not hold up
 * the app's other names. The loop hands them at most RP_NET_DNS_INFLIGHT
 * questions; a worker answers through an eventfd in the guard's epoll
 * set. A question still
 * unanswered after the timeout is answered SERVFAIL by the loop (a timerfd
 * in the same set); the worker's late result is then dropped. The worker
 * cannot be interrupted inside getaddrinfo, so the state it shares with
 * the loop is reference-counted: when the guard is freed while the worker
 * is busy, the worker frees it when it returns. The worker touches only
 * its job's name, family and result, never the guard, its policy or its
 * cache. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "net/guard_priv.h"

enum { J_FREE = 0, J_QUEUED, J_RUNNING, J_DONE };

struct rp_netresolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;     /* the guard and each worker */
	int closing;  /* the guard is gone */
	int workers, idle;
	int efd;      /* eventfd: results ready */
	uint64_t seq;
	rp_net_resolve_fn fn;
	void *ctx;
	struct rp_net_dnsjob job[RP_NET_DNS_INFLIGHT];
};

uint64_t rp_net_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void unref_locked(struct rp_netresolver *r)
{
	if (--r->refs > 0) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	pthread_mutex_unlock(&r->mu);
	if (r->efd >= 0)
		close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static struct rp_net_dnsjob *next_queued(struct rp_netresolver *r)
{
	struct rp_net_dnsjob *best = NULL;
	size_t i;

	for (i = 0; i < RP_NET_DNS_INFLIGHT; i++)
		if (r->job[i].state == J_QUEUED &&
		    (!best || r->job[i].seq < best->seq))
			best = &r->job[i];
	return best;
}

static void *worker(void *arg)
{
	struct rp_netresolver *r = arg;
	struct rp_net_dnsjob *j;
	struct rp_netaddr addrs[RP_NET_ANSWERS_MAX];
	char name[RP_NET_NAME_MAX + 2];
	uint64_t one = 1;
	size_t n;
	int family, rc;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->closing && !(j = next_queued(r))) {
			r->idle++;
			pthread_cond_wait(&r->cv, &r->mu);
			r->idle--;
		}
		if (r->closing)
			break;
		j->state = J_RUNNING;
		memcpy(name, j->name, sizeof(name));
		family = j->family;
		pthread_mutex_unlock(&r->mu);

		n = 0;
		memset(addrs, 0, sizeof(addrs));
		rc = r->fn(r->ctx, name, family, addrs, RP_NET_ANSWERS_MAX, &n);
		if (n > RP_NET_ANSWERS_MAX)
			n = RP_NET_ANSWERS_MAX;

		pthread_mutex_lock(&r->mu);
		j->rc = rc;
		j->n = n;
		memcpy(j->addrs, addrs, sizeof(addrs));
		j->state = J_DONE;
		if (!r->closing && write(r->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the loop
			 * also collects on the next wakeup */
		}
	}
	unref_locked(r);
	return NULL;
}

int rp_net_resolver_new(rp_net_resolve_fn fn, void *ctx,
			struct rp_netresolver **out)
{
	struct rp_netresolver *r;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		int err = errno;

		free(r);
		return -err;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->refs = 1;
	r->fn = fn;
	r->ctx = ctx;
	*out = r;
	return 0;
}

int rp_net_resolver_fd(const struct rp_netresolver *r)
{
	return r->efd;
}

static int start_locked(struct rp_netresolver *r)
{
	pthread_attr_t at;
	pthread_t t;
	sigset_t all, old;
	int rc;

	if (r->idle > 0 || r->workers >= RP_NET_DNS_WORKERS)
		return 0; /* an idle worker takes it, or it waits its turn */
	/* The worker takes no signals: rampartd handles them on its loop. */
	sigfillset(&all);
	if ((rc = pthread_attr_init(&at)))
		return -rc;
	(void)pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, &at, worker, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (rc)
		return r->workers > 0 ? 0 : -rc;
	r->workers++;
	r->refs++;
	return 0;
}

int rp_net_resolver_submit(struct rp_netresolver *r,
			   const struct rp_net_dnsjob *req)
{
	struct rp_net_dnsjob *j = NULL;
	size_t i;
	int rc;

	pthread_mutex_lock(&r->mu);
	for (i = 0; i < RP_NET_DNS_INFLIGHT; i++)
		if (r->job[i].state == J_FREE) {
			j = &r->job[i];
			break;
		}
	if (!j) {
		rc = -EAGAIN;
		goto out;
	}
	if ((rc = start_locked(r)))
		goto out;
	*j = *req;
	j->name[sizeof(j->name) - 1] = '\0';
	j->state = J_QUEUED;
	j->abandoned = 0;
	j->seq = ++r->seq;
	pthread_cond_signal(&r->cv);
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

size_t rp_net_resolver_collect(struct rp_netresolver *r,
			       struct rp_net_dnsjob *done, size_t cap,
			       uint64_t now_ms, uint64_t *next_deadline)
{
	uint64_t v;
	size_t i, n = 0;

	*next_deadline = 0;
	if (read(r->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: woken by the timer, not the worker */
	}
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < RP_NET_DNS_INFLIGHT && n < cap; i++) {
		struct rp_net_dnsjob *j = &r->job[i];

		if (j->state == J_FREE)
			continue;
		if (j->state == J_DONE) {
			if (!j->abandoned)
				done[n++] = *j;
			j->state = J_FREE;
			continue;
		}
		if (j->abandoned)
			continue; /* running: its late result is dropped */
		if (now_ms >= j->deadline_ms) {
			done[n] = *j;
			done[n].rc = -ETIMEDOUT;
			done[n].n = 0;
			n++;
			j->abandoned = 1;
			if (j->state == J_QUEUED)
				j->state = J_FREE;
			continue;
		}
		if (!*next_deadline || j->deadline_ms < *next_deadline)
			*next_deadline = j->deadline_ms;
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

void rp_net_resolver_free(struct rp_netresolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->closing = 1;
	pthread_cond_broadcast(&r->cv);
	unref_locked(r);
}
