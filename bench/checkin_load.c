/* checkin_load: a closed-loop HTTPS load generator for bench/checkin.sh.
 *
 *   checkin_load keygen DIR N [ed25519|p256]
 *       writes N device keys DIR/<i>.key, their CSRs DIR/<i>.csr and
 *       DIR/ids (the device ids, SHA-256 of each key's DER SPKI, one a
 *       line, in order), i = 0..N-1.
 *   checkin_load run --port P --ca FILE (--post PATH --body FILE | --get PATH)
 *       [--host 127.0.0.1] [--conns 64] [--seconds 10] [--warmup 1]
 *       [--threads 1] [--reconnect 50] [--devices DIR --count N]
 *       C connections, each doing keep-alive requests back to back (one
 *       outstanding request per connection) for the run; with --devices
 *       each connection presents a device certificate DIR/<i>.crt with
 *       key DIR/<i>.key. After --reconnect requests a connection closes
 *       and reconnects as the next device (i cycles over 0..N-1), so N
 *       distinct devices check in and the full TLS 1.3 handshake with a
 *       client certificate is part of the load, as it is in the field.
 *       Prints "key value" lines: requests, errors, non200, handshakes,
 *       client_cpu_s (this process, warm-up included), seconds, rate,
 *       p50_ms, p99_ms, max_ms.
 *
 * Why not libcurl (the project's HTTP client elsewhere): at this scale
 * curl multi spends more CPU per request (header parsing into its own
 * structures, connection pool bookkeeping, per-transfer setup) than the
 * servers we measure, and the client shares the machine with them; both
 * sides of the comparison would then be measured mostly in curl. The
 * requests here are one fixed byte string per run, so the client's own
 * cost is a few SSL_write/SSL_read calls and a bounded scan of the
 * response (status line, Content-Length, body of exactly that length);
 * nginx and rampart-server are measured with the same client. This is a
 * bench tool, not part of lib/: it talks to OpenSSL directly (STYLE.md
 * rule 7 is about the shipped code) and may exit on error.
 *
 * Latency is from the first byte of a request written to the last byte
 * of its response read; connection set-up is counted in handshakes, not
 * in latency. Requests completed during the warm-up are not counted. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/num.h"

#define RESP_MAX (1024 * 1024)   /* one response, headers and body */
#define HDR_MAX (16 * 1024)      /* response headers */
#define CONNS_MAX 10000
#define THREADS_MAX 64
#define DEVICES_MAX 1000000
#define LAT_MAX (64u * 1024 * 1024) /* latencies kept per thread */
#define IO_TIMEOUT_S 10.0
#define ERRORS_SHOWN 5

enum state { ST_CONNECT, ST_HANDSHAKE, ST_WRITE, ST_READ };

struct conn {
	int fd;
	SSL *ssl;
	enum state st;
	size_t woff;
	unsigned char *rbuf;
	size_t rlen;
	size_t hdr_end;     /* 0: headers not complete yet */
	size_t body_len;
	int status;
	int close_after;
	double t_req;       /* when the request's first byte went out */
	double deadline;
	unsigned served;    /* requests done on this connection */
	struct worker *w;
};

struct cfg {
	struct sockaddr_in addr;
	SSL_CTX *ctx;
	const char *ip;
	unsigned char *req;
	size_t req_len;
	unsigned conns, threads, reconnect;
	double seconds, warmup;
	X509 **certs;
	EVP_PKEY **keys;
	size_t ndev;
	double t_begin, t_measure, t_end;
};

struct worker {
	const struct cfg *cfg;
	pthread_t tid;
	unsigned index;
	struct conn *conns;
	unsigned nconns;
	int ep;
	size_t next_dev;
	uint32_t *lat;     /* microseconds */
	size_t nlat, caplat;
	uint64_t requests, errors, handshakes, non200;
	unsigned shown;
	int failed;        /* a fatal setup error */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "checkin_load: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static unsigned parse_num(const char *opt, const char *s, uint64_t max)
{
	uint64_t v;

	if (rp_parse_u64z(s, max, &v)) {
		fprintf(stderr, "checkin_load: %s: a number from 0 to %llu\n", opt,
			(unsigned long long)max);
		exit(2);
	}
	return (unsigned)v;
}

static unsigned char *read_all(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "checkin_load: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = malloc(max + 1);
	if (!buf)
		die("out of memory");
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		fprintf(stderr, "checkin_load: %s: larger than %zu bytes\n", path, max);
		exit(1);
	}
	*len = n;
	return buf;
}

/* ---- keygen ------------------------------------------------------------ */

static int keygen(const char *dir, unsigned n, const char *type)
{
	char path[4096];
	FILE *ids;
	unsigned i;

	snprintf(path, sizeof(path), "%s/ids", dir);
	ids = fopen(path, "w");
	if (!ids) {
		fprintf(stderr, "checkin_load: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		EVP_PKEY *k = NULL;
		X509_REQ *req = X509_REQ_new();
		X509_NAME *name = X509_NAME_new();
		unsigned char *der = NULL, md[32];
		int dlen;
		FILE *f;

		if (strcmp(type, "p256") == 0)
			k = EVP_EC_gen("P-256");
		else
			k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		if (!k || !req || !name)
			die("key generation failed");
		dlen = i2d_PUBKEY(k, &der);
		if (dlen <= 0 || !EVP_Digest(der, (size_t)dlen, md, NULL, EVP_sha256(), NULL))
			die("SPKI digest failed");
		OPENSSL_free(der);
		for (size_t b = 0; b < sizeof(md); b++)
			fprintf(ids, "%02x", md[b]);
		fputc('\n', ids);
		/* The subject is ignored by the service (it names the device
		 * from the key); one is still required by the CSR format. */
		if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						(const unsigned char *)"device", -1, -1, 0) ||
		    !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, k) ||
		    !X509_REQ_sign(req, k, strcmp(type, "p256") == 0 ? EVP_sha256() : NULL))
			die("CSR failed");
		snprintf(path, sizeof(path), "%s/%u.key", dir, i);
		f = fopen(path, "w");
		if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fclose(f))
			die("writing a key failed");
		snprintf(path, sizeof(path), "%s/%u.csr", dir, i);
		f = fopen(path, "w");
		if (!f || !PEM_write_X509_REQ(f, req) || fclose(f))
			die("writing a CSR failed");
		X509_NAME_free(name);
		X509_REQ_free(req);
		EVP_PKEY_free(k);
	}
	return fclose(ids) ? 1 : 0;
}

/* ---- run ---------------------------------------------------------------- */

static void note_error(struct conn *c, const char *what)
{
	struct worker *w = c->w;

	w->errors++;
	if (w->shown < ERRORS_SHOWN) {
		w->shown++;
		fprintf(stderr, "checkin_load: thread %u: %s\n", w->index, what);
		ERR_print_errors_fp(stderr);
	}
	ERR_clear_error();
}

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int conn_open(struct conn *c)
{
	struct worker *w = c->w;
	const struct cfg *cfg = w->cfg;
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ssl = SSL_new(cfg->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return -1;
	if (cfg->ndev) {
		size_t d = w->next_dev;

		w->next_dev = (w->next_dev + cfg->threads) % cfg->ndev;
		if (SSL_use_certificate(c->ssl, cfg->certs[d]) != 1 ||
		    SSL_use_PrivateKey(c->ssl, cfg->keys[d]) != 1)
			return -1;
	}
	if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), cfg->ip))
		return -1;
	SSL_set_connect_state(c->ssl);
	c->st = ST_CONNECT;
	c->woff = c->rlen = c->hdr_end = c->body_len = 0;
	c->served = 0;
	c->close_after = 0;
	c->deadline = now() + IO_TIMEOUT_S;
	if (connect(c->fd, (const struct sockaddr *)&cfg->addr, sizeof(cfg->addr)) == 0)
		c->st = ST_HANDSHAKE;
	else if (errno != EINPROGRESS)
		return -1;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = c;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_restart(struct conn *c)
{
	conn_close(c);
	if (conn_open(c)) {
		note_error(c, "cannot open a connection");
		conn_close(c);
	}
}

static void record(struct worker *w, double t_req, double t)
{
	double us = (t - t_req) * 1e6;

	if (t_req < w->cfg->t_measure || t > w->cfg->t_end)
		return;
	w->requests++;
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? w->caplat * 2 : 65536;
		uint32_t *p;

		if (cap > LAT_MAX)
			return; /* counted, not kept: percentiles from the first LAT_MAX */
		p = realloc(w->lat, cap * sizeof(*p));
		if (!p)
			return;
		w->lat = p;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = us > 4e9 ? UINT32_MAX : (uint32_t)us;
}

/* Headers are complete in rbuf[0..hdr_end): read the status code, the
 * Content-Length and whether the server closes. 0 or -1 (malformed). */
static int parse_head(struct conn *c)
{
	const char *p = (const char *)c->rbuf, *end = p + c->hdr_end;
	const char *eol;
	int have_len = 0;
	uint64_t v;

	if (c->hdr_end < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0)
		return -1;
	if (rp_parse_u64(p + 9, 3, 999, &v))
		return -1;
	c->status = (int)v;
	eol = memchr(p, '\n', (size_t)(end - p));
	while (eol && eol + 1 < end) {
		const char *line = eol + 1, *val;
		size_t n;

		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			break;
		n = (size_t)(eol - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n > 15 && strncasecmp(line, "content-length:", 15) == 0) {
			val = line + 15;
			while (val < line + n && (*val == ' ' || *val == '\t'))
				val++;
			if (rp_parse_u64(val, (size_t)(line + n - val), RESP_MAX, &v))
				return -1;
			c->body_len = (size_t)v;
			have_len = 1;
		} else if (n > 11 && strncasecmp(line, "connection:", 11) == 0) {
			val = line + 11;
			while (val < line + n && *val == ' ')
				val++;
			if ((size_t)(line + n - val) == 5 && strncasecmp(val, "close", 5) == 0)
				c->close_after = 1;
		} else if (n > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0) {
			return -1; /* the two servers send Content-Length */
		}
	}
	if (!have_len || c->hdr_end + c->body_len > RESP_MAX)
		return -1;
	return 0;
}

/* Finds the end of the headers; 1 found, 0 not yet, -1 too long. */
static int find_head(struct conn *c, size_t from)
{
	size_t i = from > 3 ? from - 3 : 0;

	for (; i + 4 <= c->rlen; i++) {
		if (memcmp(c->rbuf + i, "\r\n\r\n", 4) == 0) {
			c->hdr_end = i + 4;
			return 1;
		}
	}
	return c->rlen > HDR_MAX ? -1 : 0;
}

/* Drive one connection as far as it goes without blocking. */
static void step(struct conn *c)
{
	struct worker *w = c->w;
	const struct cfg *cfg = w->cfg;
	int r, e;

	for (;;) {
		switch (c->st) {
		case ST_CONNECT: {
			int err = 0;
			socklen_t len = sizeof(err);

			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
				note_error(c, err == ECONNREFUSED ? "connection refused" :
					   "connect failed");
				conn_restart(c);
				return;
			}
			/* Still connecting: SO_ERROR is 0 but no peer yet. */
			{
				struct sockaddr_in peer;
				socklen_t pl = sizeof(peer);

				if (getpeername(c->fd, (struct sockaddr *)&peer, &pl))
					return;
			}
			c->st = ST_HANDSHAKE;
			break;
		}
		case ST_HANDSHAKE:
			r = SSL_do_handshake(c->ssl);
			if (r == 1) {
				w->handshakes++;
				c->st = ST_WRITE;
				c->woff = 0;
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			note_error(c, "TLS handshake failed");
			conn_restart(c);
			return;
		case ST_WRITE:
			if (c->woff == 0) {
				c->t_req = now();
				c->deadline = c->t_req + IO_TIMEOUT_S;
			}
			r = SSL_write(c->ssl, cfg->req + c->woff, (int)(cfg->req_len - c->woff));
			if (r > 0) {
				c->woff += (size_t)r;
				if (c->woff == cfg->req_len) {
					c->st = ST_READ;
					c->rlen = c->hdr_end = c->body_len = 0;
				}
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			note_error(c, "write failed");
			conn_restart(c);
			return;
		case ST_READ: {
			size_t before = c->rlen;
			int f;

			r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(RESP_MAX - c->rlen));
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				note_error(c, e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ?
					   "server closed the connection mid-request" :
					   "read failed");
				conn_restart(c);
				return;
			}
			c->rlen += (size_t)r;
			if (!c->hdr_end) {
				f = find_head(c, before);
				if (f < 0 || (f == 1 && parse_head(c))) {
					note_error(c, "malformed response");
					conn_restart(c);
					return;
				}
				if (f == 0)
					break;
			}
			if (c->rlen < c->hdr_end + c->body_len) {
				if (c->rlen == RESP_MAX) {
					note_error(c, "response too large");
					conn_restart(c);
					return;
				}
				break;
			}
			if (c->rlen > c->hdr_end + c->body_len) {
				note_error(c, "bytes after the response (no pipelining here)");
				conn_restart(c);
				return;
			}
			if (c->status != 200) {
				char msg[160];
				size_t n = c->body_len < 100 ? c->body_len : 100;

				while (n && (c->rbuf[c->hdr_end + n - 1] == '\n' ||
					     c->rbuf[c->hdr_end + n - 1] == '\r'))
					n--;

				w->non200++;
				snprintf(msg, sizeof(msg), "status %d: %.*s", c->status, (int)n,
					 (const char *)c->rbuf + c->hdr_end);
				note_error(c, msg);
			} else {
				record(w, c->t_req, now());
			}
			c->served++;
			if (c->close_after || (cfg->reconnect && c->served >= cfg->reconnect)) {
				conn_restart(c);
				return;
			}
			c->st = ST_WRITE;
			c->woff = 0;
			break;
		}
		}
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	const struct cfg *cfg = w->cfg;
	struct epoll_event evs[256];
	double t, last_sweep = 0;
	unsigned i;

	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		c->w = w;
		c->fd = -1;
		c->rbuf = malloc(RESP_MAX);
		if (!c->rbuf) {
			w->failed = 1;
			return NULL;
		}
		if (conn_open(c)) {
			note_error(c, "cannot open a connection");
			conn_close(c);
		}
	}
	while ((t = now()) < cfg->t_end) {
		int n = epoll_wait(w->ep, evs, 256, 50);

		for (int k = 0; k < n; k++)
			step(evs[k].data.ptr);
		t = now();
		if (t - last_sweep < 0.1)
			continue;
		last_sweep = t;
		for (i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];

			if (c->fd < 0) {
				conn_restart(c); /* a reopen failed: try again */
			} else if (t > c->deadline) {
				note_error(c, "timed out");
				conn_restart(c);
			} else if (c->st == ST_HANDSHAKE || c->st == ST_CONNECT) {
				step(c); /* cheap; covers an edge lost to a restart */
			}
		}
	}
	for (i = 0; i < w->nconns; i++) {
		conn_close(&w->conns[i]);
		free(w->conns[i].rbuf);
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void load_devices(struct cfg *cfg, const char *dir, size_t n)
{
	char path[4096];

	cfg->certs = calloc(n, sizeof(*cfg->certs));
	cfg->keys = calloc(n, sizeof(*cfg->keys));
	if (!cfg->certs || !cfg->keys)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%zu.crt", dir, i);
		f = fopen(path, "r");
		if (!f || !(cfg->certs[i] = PEM_read_X509(f, NULL, NULL, NULL))) {
			fprintf(stderr, "checkin_load: %s: not a certificate\n", path);
			exit(1);
		}
		fclose(f);
		snprintf(path, sizeof(path), "%s/%zu.key", dir, i);
		f = fopen(path, "r");
		if (!f || !(cfg->keys[i] = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
			fprintf(stderr, "checkin_load: %s: not a private key\n", path);
			exit(1);
		}
		fclose(f);
	}
	cfg->ndev = n;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: checkin_load keygen DIR N [ed25519|p256]\n"
		"       checkin_load run --port P --ca FILE (--post PATH --body FILE | --get PATH)\n"
		"           [--host IPV4] [--conns C] [--seconds D] [--warmup W] [--threads T]\n"
		"           [--reconnect R] [--devices DIR --count N]\n");
	exit(2);
}

static int run(int argc, char **argv)
{
	struct cfg cfg;
	const char *ca = NULL, *post = NULL, *get = NULL, *body_path = NULL, *devdir = NULL;
	unsigned port = 0, count = 0;
	unsigned char *body = NULL;
	size_t body_len = 0, cap, all = 0;
	struct worker *ws;
	uint64_t requests = 0, errors = 0, handshakes = 0, non200 = 0;
	uint32_t *lat;
	char head[1024];
	int hl;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ip = "127.0.0.1";
	cfg.conns = 64;
	cfg.threads = 1;
	cfg.reconnect = 50;
	cfg.seconds = 10;
	cfg.warmup = 1;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(o, "--port"))
			port = parse_num(o, v, 65535);
		else if (!strcmp(o, "--host"))
			cfg.ip = v;
		else if (!strcmp(o, "--ca"))
			ca = v;
		else if (!strcmp(o, "--post"))
			post = v;
		else if (!strcmp(o, "--body"))
			body_path = v;
		else if (!strcmp(o, "--get"))
			get = v;
		else if (!strcmp(o, "--conns"))
			cfg.conns = parse_num(o, v, CONNS_MAX);
		else if (!strcmp(o, "--threads"))
			cfg.threads = parse_num(o, v, THREADS_MAX);
		else if (!strcmp(o, "--seconds"))
			cfg.seconds = parse_num(o, v, 3600);
		else if (!strcmp(o, "--warmup"))
			cfg.warmup = parse_num(o, v, 600);
		else if (!strcmp(o, "--reconnect"))
			cfg.reconnect = parse_num(o, v, 1000000000);
		else if (!strcmp(o, "--devices"))
			devdir = v;
		else if (!strcmp(o, "--count"))
			count = parse_num(o, v, DEVICES_MAX);
		else
			usage();
	}
	if (!port || !ca || !!post == !!get || (post && !body_path) || (get && body_path) ||
	    !cfg.conns || !cfg.threads || cfg.threads > cfg.conns || cfg.seconds <= 0 ||
	    !devdir != !count)
		usage();
	cfg.addr.sin_family = AF_INET;
	cfg.addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, cfg.ip, &cfg.addr.sin_addr) != 1)
		usage();

	if (post) {
		body = read_all(body_path, 256 * 1024, &body_len);
		hl = snprintf(head, sizeof(head),
			      "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			      post, cfg.ip, port, body_len);
	} else {
		hl = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s:%u\r\n\r\n",
			      get, cfg.ip, port);
	}
	if (hl < 0 || (size_t)hl >= sizeof(head))
		usage();
	cfg.req_len = (size_t)hl + body_len;
	cfg.req = malloc(cfg.req_len);
	if (!cfg.req)
		die("out of memory");
	memcpy(cfg.req, head, (size_t)hl);
	if (body_len)
		memcpy(cfg.req + hl, body, body_len);
	free(body);

	cfg.ctx = SSL_CTX_new(TLS_client_method());
	if (!cfg.ctx || !SSL_CTX_set_min_proto_version(cfg.ctx, TLS1_3_VERSION) ||
	    SSL_CTX_load_verify_locations(cfg.ctx, ca, NULL) != 1)
		die("TLS set-up failed (the --ca file?)");
	SSL_CTX_set_verify(cfg.ctx, SSL_VERIFY_PEER, NULL);
	/* Every connection is a new device: no session resumption. */
	SSL_CTX_set_session_cache_mode(cfg.ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(cfg.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (devdir)
		load_devices(&cfg, devdir, count);

	ws = calloc(cfg.threads, sizeof(*ws));
	if (!ws)
		die("out of memory");
	cfg.t_begin = now();
	cfg.t_measure = cfg.t_begin + cfg.warmup;
	cfg.t_end = cfg.t_measure + cfg.seconds;
	for (unsigned t = 0; t < cfg.threads; t++) {
		struct worker *w = &ws[t];

		w->cfg = &cfg;
		w->index = t;
		w->next_dev = cfg.ndev ? t % cfg.ndev : 0;
		w->nconns = cfg.conns / cfg.threads + (t < cfg.conns % cfg.threads);
		w->conns = calloc(w->nconns, sizeof(*w->conns));
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (!w->conns || w->ep < 0)
			die("out of memory or epoll");
		if (pthread_create(&w->tid, NULL, work, w))
			die("pthread_create failed");
	}
	for (unsigned t = 0; t < cfg.threads; t++) {
		pthread_join(ws[t].tid, NULL);
		if (ws[t].failed)
			die("a worker failed to start");
		requests += ws[t].requests;
		errors += ws[t].errors;
		handshakes += ws[t].handshakes;
		non200 += ws[t].non200;
		all += ws[t].nlat;
	}
	cap = all ? all : 1;
	lat = malloc(cap * sizeof(*lat));
	if (!lat)
		die("out of memory");
	all = 0;
	for (unsigned t = 0; t < cfg.threads; t++) {
		if (ws[t].nlat)
			memcpy(lat + all, ws[t].lat, ws[t].nlat * sizeof(*lat));
		all += ws[t].nlat;
		free(ws[t].lat);
		free(ws[t].conns);
		close(ws[t].ep);
	}
	qsort(lat, all, sizeof(*lat), cmp_u32);
	printf("requests %llu\n", (unsigned long long)requests);
	printf("errors %llu\n", (unsigned long long)errors);
	printf("non200 %llu\n", (unsigned long long)non200);
	printf("handshakes %llu\n", (unsigned long long)handshakes);
	{
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			printf("client_cpu_s %.2f\n",
			       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	}
	printf("seconds %.2f\n", cfg.seconds);
	printf("rate %.1f\n", (double)requests / cfg.seconds);
	if (all) {
		printf("p50_ms %.2f\n", (double)lat[(all - 1) / 2] / 1000.0);
		printf("p99_ms %.2f\n", (double)lat[(all - 1) * 99 / 100] / 1000.0);
		printf("max_ms %.2f\n", (double)lat[all - 1] / 1000.0);
	} else {
		printf("p50_ms 0\np99_ms 0\nmax_ms 0\n");
	}
	free(lat);
	free(ws);
	for (size_t i = 0; i < cfg.ndev; i++) {
		X509_free(cfg.certs[i]);
		EVP_PKEY_free(cfg.keys[i]);
	}
	free(cfg.certs);
	free(cfg.keys);
	free(cfg.req);
	SSL_CTX_free(cfg.ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "keygen") == 0) {
		const char *type = argc >= 5 ? argv[4] : "ed25519";

		if (strcmp(type, "ed25519") && strcmp(type, "p256"))
			usage();
		return keygen(argv[2], parse_num("N", argv[3], DEVICES_MAX), type);
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run(argc, argv);
	usage();
	return 2;
}
