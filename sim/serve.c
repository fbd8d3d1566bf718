/* rampart-sim serve: the simulated board's devices (sim.h, docs/sim.md).
 *
 * One thread, one libevent loop. Every client is bounded: at most
 * RP_SIM_CONNS_MAX sockets in all; an rpph client gets one request handled
 * per loop turn (so a flooding client cannot starve the others) and at
 * most one reply waiting to be sent (its reads stop until it is); a
 * control client's request line and its pending output are capped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "base/bytes.h"
#include "base/num.h"
#include "periph/periph.h"
#include "scd30.h"
#include "sim.h"

#define CTL_OUT_MAX (64 * 1024) /* a watcher that stops reading is dropped */
#define ACCEPT_BURST 8
#define UART_CHUNK 1024

enum dev { DEV_GPIO, DEV_I2C, DEV_SPI, DEV_CTL, DEV_N };
static const char *const dev_name[DEV_N] = { "gpiochip0", "i2c-0", "spidev0.0", "control" };
static const char *const uart_name[2] = { "uart0", "uart1" };
#define PWM_DIR "pwmchip0"
#define ADC_DIR "iio:device0"

struct srv;

struct pconn {
	struct srv *s;
	struct pconn *prev, *next;
	int fd;
	enum dev dev;
	struct event *rev, *wev;
	uint32_t kind;          /* 0 until OPEN */
	int line;               /* GPIO: the held line, or -1 */
	uint32_t flags;         /* GPIO OPEN flags */
	uint32_t cfg_speed, cfg_timeout, cfg_mode, cfg_order;
	int dead;
	uint64_t requests;
	size_t out_len;         /* a reply waiting for the socket to drain */
	uint8_t out[RP_PH_MSG_MAX];
	uint16_t spi_last_len;
	uint8_t spi_last[RP_PH_DATA_MAX];
};

struct cconn {
	struct srv *s;
	struct cconn *prev, *next;
	struct bufferevent *bev;
	int watch;              /* GPIO line watched, or -1 */
	int dead;               /* to be freed by the reaper */
};

struct line {
	uint8_t level;
	struct pconn *holder;
	uint32_t flags;
};

struct uart {
	int master, slave;
	struct event *ev;
	char pts[64];
	uint64_t rx, tx, dropped;
	uint8_t log[RP_SIM_UART_LOG]; /* uart1: the last bytes, oldest first */
	size_t log_len;
};

struct srv {
	struct event_base *base;
	char dir[PATH_MAX];
	int dfd;
	int lfd[DEV_N];
	struct event *lev[DEV_N];
	struct event *sig[2];
	struct line lines[RP_SIM_GPIO_LINES];
	struct rp_scd30 scd;
	struct uart uart[2];
	int ino, ino_wd;
	struct event *ino_ev;
	struct pconn *pconns;
	struct cconn *cconns;
	struct event *reap;     /* frees dead control clients, outside callbacks */
	unsigned nconns;
	uint64_t refused;
	int made_pwm, made_adc;
	uint8_t in[RP_PH_MSG_MAX + 1];
	uint8_t rd[RP_PH_DATA_MAX];
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs("rampart-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- GPIO lines and their watchers ---- */

/* A watcher that stops reading is dropped, not buffered for. It may be
 * the client whose request is running: mark it, the reaper frees it. */
static void line_set(struct srv *s, unsigned ln, uint8_t v)
{
	struct cconn *c;

	if (s->lines[ln].level == v)
		return;
	s->lines[ln].level = v;
	for (c = s->cconns; c; c = c->next) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		if (c->dead || c->watch != (int)ln)
			continue;
		if (evbuffer_get_length(out) > CTL_OUT_MAX) {
			c->dead = 1;
			c->watch = -1;
			event_active(s->reap, 0, 0);
			continue;
		}
		evbuffer_add_printf(out, "%u %u\n", ln, v);
	}
}

/* ---- rpph clients ---- */

static void pconn_free(struct pconn *c)
{
	struct srv *s = c->s;

	if (c->line >= 0 && s->lines[c->line].holder == c) {
		/* Released: an output keeps driving its last value, as a
		 * gpio-sim line keeps the value last set until someone else
		 * drives it (docs/sim.md). */
		s->lines[c->line].holder = NULL;
		s->lines[c->line].flags = 0;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		s->pconns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	s->nconns--;
	free(c);
}

/* Send a reply now, or park it and stop reading until it is sent. */
static void reply(struct pconn *c, uint16_t op, int err, uint32_t b,
		  const uint8_t *data, uint32_t len)
{
	struct rp_ph_msg m = { .op = (uint16_t)(op | RP_PH_REPLY),
			       .status = (uint16_t)err, .b = b, .len = len,
			       .data = data };
	size_t n = rp_ph_encode(&m, c->out, sizeof(c->out));
	ssize_t r;

	if (!n) {
		c->dead = 1;
		return;
	}
	do
		r = send(c->fd, c->out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN)) {
		c->out_len = n;
		event_del(c->rev);
		event_add(c->wev, NULL);
		return;
	}
	if (r < 0 || (size_t)r != n)
		c->dead = 1;
}

static void on_pconn_write(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	ssize_t r;

	(void)what;
	r = send(fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0 || (size_t)r != c->out_len) {
		pconn_free(c);
		return;
	}
	c->out_len = 0;
	event_del(c->wev);
	event_add(c->rev, NULL);
}

static uint32_t dev_kind(enum dev d)
{
	switch (d) {
	case DEV_GPIO:
		return RP_PH_KIND_GPIO;
	case DEV_I2C:
		return RP_PH_KIND_I2C;
	case DEV_SPI:
		return RP_PH_KIND_SPI;
	case DEV_CTL:
	case DEV_N:
		break;
	}
	return 0;
}

static void do_open(struct pconn *c, const struct rp_ph_msg *m)
{
	struct srv *s = c->s;
	uint32_t flags, value;
	struct line *l;

	if (c->kind)
		return reply(c, m->op, EPERM, 0, NULL, 0);
	if (m->a != dev_kind(c->dev))
		return reply(c, m->op, ENODEV, 0, NULL, 0);
	if (m->a != RP_PH_KIND_GPIO) {
		c->kind = m->a;
		return reply(c, m->op, 0, 0, NULL, 0);
	}
	flags = rp_dec32le(m->data);
	value = rp_dec32le(m->data + 4);
	if (m->b >= RP_SIM_GPIO_LINES)
		return reply(c, m->op, EINVAL, 0, NULL, 0);
	if ((flags & (RP_PH_GPIO_OPEN_DRAIN | RP_PH_GPIO_OPEN_SOURCE)) &&
	    (!(flags & RP_PH_GPIO_OUTPUT) ||
	     (flags & RP_PH_GPIO_OPEN_DRAIN && flags & RP_PH_GPIO_OPEN_SOURCE)))
		return reply(c, m->op, EINVAL, 0, NULL, 0);
	l = &s->lines[m->b];
	if (l->holder)
		return reply(c, m->op, EBUSY, 0, NULL, 0);
	l->holder = c;
	l->flags = flags;
	c->kind = RP_PH_KIND_GPIO;
	c->line = (int)m->b;
	c->flags = flags;
	if (flags & RP_PH_GPIO_OUTPUT)
		line_set(s, m->b, (uint8_t)value);
	reply(c, m->op, 0, 0, NULL, 0);
}

static void do_i2c(struct pconn *c, const struct rp_ph_msg *m)
{
	struct srv *s = c->s;
	uint64_t t = now_ms();

	if (m->a != RP_SCD30_ADDR)
		return reply(c, m->op, ENXIO, 0, NULL, 0);
	if (m->len && rp_scd30_write(&s->scd, t, m->data, m->len))
		return reply(c, m->op, EIO, 0, NULL, 0);
	if (m->b && rp_scd30_read(&s->scd, t, s->rd, m->b))
		return reply(c, m->op, EIO, 0, NULL, 0);
	reply(c, m->op, 0, 0, m->b ? s->rd : NULL, m->b);
}

/* Loopback: a read segment returns the bytes of the last write segment
 * (this transfer's or an earlier one's), cut or zero-padded. */
static void do_spi(struct pconn *c, const struct rp_ph_msg *m)
{
	struct srv *s = c->s;
	size_t off = 0, n = 0;
	const uint8_t *d;
	uint16_t len;
	uint8_t dir;

	if (m->a != 0)
		return reply(c, m->op, EINVAL, 0, NULL, 0);
	while (rp_ph_spi_next(m, &off, &dir, &len, &d)) {
		if (dir == RP_PH_SPI_WRITE) {
			memcpy(c->spi_last, d, len);
			c->spi_last_len = len;
			continue;
		}
		if (len > RP_PH_DATA_MAX - n) /* checked already; stay safe */
			return reply(c, m->op, EINVAL, 0, NULL, 0);
		memset(s->rd + n, 0, len);
		memcpy(s->rd + n, c->spi_last, len < c->spi_last_len ? len : c->spi_last_len);
		n += len;
	}
	reply(c, m->op, 0, 0, n ? s->rd : NULL, (uint32_t)n);
}

static void handle(struct pconn *c, const uint8_t *buf, size_t n)
{
	struct srv *s = c->s;
	struct rp_ph_msg m;
	uint16_t op = n >= 2 ? (uint16_t)(rp_dec16le(buf) & ~RP_PH_REPLY) : 0;
	uint32_t want;
	int rc;

	c->requests++;
	if (n > RP_PH_MSG_MAX || rp_ph_decode(buf, n, &m))
		return reply(c, op, EBADMSG, 0, NULL, 0);
	rc = rp_ph_check_request(&m);
	if (rc)
		return reply(c, op, -rc, 0, NULL, 0);
	if (m.op == RP_PH_OPEN)
		return do_open(c, &m);
	switch (m.op) {
	case RP_PH_GPIO_GET:
	case RP_PH_GPIO_SET:
		want = RP_PH_KIND_GPIO;
		break;
	case RP_PH_I2C_XFER:
	case RP_PH_I2C_CONFIG:
		want = RP_PH_KIND_I2C;
		break;
	case RP_PH_SPI_XFER:
	case RP_PH_SPI_CONFIG:
		want = RP_PH_KIND_SPI;
		break;
	default:
		want = 0; /* PWM and ADC handles are rampartd's, never ours */
		break;
	}
	if (!c->kind || c->kind != want)
		return reply(c, m.op, EBADF, 0, NULL, 0);
	switch (m.op) {
	case RP_PH_GPIO_GET:
		return reply(c, m.op, 0, s->lines[c->line].level, NULL, 0);
	case RP_PH_GPIO_SET:
		if (!(c->flags & RP_PH_GPIO_OUTPUT))
			return reply(c, m.op, EPERM, 0, NULL, 0);
		line_set(s, (unsigned)c->line, (uint8_t)m.a);
		return reply(c, m.op, 0, 0, NULL, 0);
	case RP_PH_I2C_XFER:
		return do_i2c(c, &m);
	case RP_PH_SPI_XFER:
		return do_spi(c, &m);
	case RP_PH_I2C_CONFIG:
	case RP_PH_SPI_CONFIG:
		if (m.a == RP_PH_CFG_SPEED_HZ) {
			if (m.b == 0)
				return reply(c, m.op, EINVAL, 0, NULL, 0);
			c->cfg_speed = m.b;
		} else if (m.a == RP_PH_CFG_TIMEOUT_MS) {
			c->cfg_timeout = m.b;
		} else if (m.a == RP_PH_CFG_MODE) {
			c->cfg_mode = m.b;
		} else {
			c->cfg_order = m.b;
		}
		return reply(c, m.op, 0, 0, NULL, 0);
	default:
		return reply(c, m.op, EBADF, 0, NULL, 0);
	}
}

static void on_pconn_read(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	struct srv *s = c->s;
	ssize_t r;

	(void)what;
	/* One datagram per turn: the loop visits every ready client before
	 * this one is read again. */
	r = recv(fd, s->in, sizeof(s->in), MSG_TRUNC | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r == 0) {
		/* End of stream, or an empty datagram (malformed). */
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		if (poll(&p, 1, 0) != 0 && p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			pconn_free(c);
			return;
		}
	}
	if (r < 0) {
		pconn_free(c);
		return;
	}
	handle(c, s->in, (size_t)r);
	if (c->dead)
		pconn_free(c);
}

/* ---- control clients ---- */

static void cconn_free(struct cconn *c)
{
	struct srv *s = c->s;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->cconns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	s->nconns--;
	free(c);
}

static int parse_u(const char *t, uint64_t max, uint64_t *v)
{
	return t && rp_parse_u64z(t, max, v) == 0 ? 0 : -1;
}

/* "-12.345" -> -12345 (thousandths); at most 3 decimals. */
static int parse_milli(const char *t, int neg_ok, int64_t lo, int64_t hi, int64_t *out)
{
	const char *dot;
	uint64_t ip, fp = 0;
	size_t flen = 0, ilen;
	int neg = 0;
	int64_t v;

	if (neg_ok && *t == '-') {
		neg = 1;
		t++;
	}
	dot = strchr(t, '.');
	ilen = dot ? (size_t)(dot - t) : strlen(t);
	if (rp_parse_u64(t, ilen, 100000, &ip))
		return -1;
	if (dot) {
		flen = strlen(dot + 1);
		if (flen < 1 || flen > 3)
			return -1;
		for (size_t i = 0; i < flen; i++) {
			if (dot[1 + i] < '0' || dot[1 + i] > '9')
				return -1;
			fp = fp * 10 + (uint64_t)(dot[1 + i] - '0');
		}
		for (; flen < 3; flen++)
			fp *= 10;
	}
	v = (int64_t)(ip * 1000 + fp);
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static json_t *scd30_json(struct srv *s)
{
	const struct rp_scd30 *d = &s->scd;

	return json_pack("{s:f,s:f,s:f,s:i,s:b,s:I,s:b,s:i,s:I,s:I}",
			 "co2", (double)d->co2_m / 1000.0,
			 "temperature", (double)d->t_m / 1000.0,
			 "humidity", (double)d->rh_m / 1000.0,
			 "interval_s", (int)d->interval_s,
			 "measuring", d->measuring,
			 "measurements_read", (json_int_t)d->measurements_read,
			 "data_ready", rp_scd30_ready(d, now_ms()),
			 "pressure_mbar", (int)d->pressure_mbar,
			 "crc_errors", (json_int_t)d->crc_errors,
			 "nacks", (json_int_t)d->nacks);
}

/* Read a small sysfs-like file under dfd: at most cap-1 bytes, newline
 * and trailing whitespace cut. */
static int read_small(int dfd, const char *path, char *out, size_t cap)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = read(fd, out, cap - 1);
	close(fd);
	if (r < 0)
		return -EIO;
	while (r > 0 && (out[r - 1] == '\n' || out[r - 1] == ' '))
		r--;
	out[r] = '\0';
	return 0;
}

/* Replace a small file's content in place (readers keep their fd, like
 * sysfs): write, then cut to length. */
static int write_small(int dfd, const char *path, const char *text, int create)
{
	int fd = openat(dfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0644);
	size_t n = strlen(text);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (pwrite(fd, text, n, 0) != (ssize_t)n || ftruncate(fd, (off_t)n))
		rc = -EIO;
	close(fd);
	return rc;
}

static json_t *pwm_json(struct srv *s, unsigned ch, char *err, size_t errcap)
{
	static const char *const keys[] = { "period", "duty_cycle", "enable" };
	char path[64], v[64];
	json_t *o = json_object();
	uint64_t n;
	size_t i;

	if (!o)
		return NULL;
	json_object_set_new(o, "channel", json_integer(ch));
	json_object_set_new(o, "exported", json_true());
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), PWM_DIR "/pwm%u/%s", ch, keys[i]);
		if (read_small(s->dfd, path, v, sizeof(v))) {
			snprintf(err, errcap, "pwm channel %u is not exported", ch);
			json_decref(o);
			return NULL;
		}
		if (rp_parse_u64z(v, UINT32_MAX, &n)) {
			snprintf(err, errcap, "pwm%u/%s: not a number", ch, keys[i]);
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, keys[i], json_integer((json_int_t)n));
	}
	snprintf(path, sizeof(path), PWM_DIR "/pwm%u/polarity", ch);
	if (read_small(s->dfd, path, v, sizeof(v)) == 0)
		json_object_set_new(o, "polarity", json_string(strcmp(v, "inversed") == 0 ? "inversed" : "normal"));
	return o;
}

static json_t *status_json(struct srv *s)
{
	json_t *o = json_object(), *g = json_array(), *a = json_array(), *p = json_array(), *u;
	char v[64], path[64];
	unsigned i;

	for (i = 0; i < RP_SIM_GPIO_LINES; i++) {
		const struct line *l = &s->lines[i];
		const char *held = NULL, *drive = NULL;

		if (l->holder) {
			held = l->flags & RP_PH_GPIO_OUTPUT ? "output" : "input";
			if (l->flags & RP_PH_GPIO_OUTPUT)
				drive = l->flags & RP_PH_GPIO_OPEN_DRAIN ? "open-drain" :
					l->flags & RP_PH_GPIO_OPEN_SOURCE ? "open-source" : "push-pull";
		}
		json_array_append_new(g, json_pack("{s:i,s:i,s:o,s:o}", "line", (int)i,
						   "value", (int)l->level,
						   "held", held ? json_string(held) : json_null(),
						   "drive", drive ? json_string(drive) : json_null()));
	}
	for (i = 0; i < RP_SIM_ADC_CHANNELS; i++) {
		uint64_t n = 0;

		snprintf(path, sizeof(path), ADC_DIR "/in_voltage%u_raw", i);
		if (read_small(s->dfd, path, v, sizeof(v)) || rp_parse_u64z(v, UINT32_MAX, &n))
			n = 0;
		json_array_append_new(a, json_integer((json_int_t)n));
	}
	for (i = 0; i < RP_SIM_PWM_CHANNELS; i++) {
		char err[96];
		json_t *c = pwm_json(s, i, err, sizeof(err));

		json_array_append_new(p, c ? c : json_pack("{s:i,s:b}", "channel", (int)i, "exported", 0));
	}
	u = json_object();
	for (i = 0; i < 2; i++) {
		const struct uart *t = &s->uart[i];
		json_t *x = json_pack("{s:s,s:I,s:I}", "pty", t->pts, "rx_bytes", (json_int_t)t->rx,
				      "tx_bytes", (json_int_t)t->tx);

		if (i == 1) {
			char text[RP_SIM_UART_LOG + 1], hex[2 * RP_SIM_UART_LOG + 1];
			size_t k;

			for (k = 0; k < t->log_len; k++) {
				uint8_t b = t->log[k];

				text[k] = b >= 0x20 && b < 0x7f ? (char)b : b == '\n' ? '\n' : '.';
				snprintf(hex + 2 * k, 3, "%02x", b);
			}
			text[k] = '\0';
			hex[2 * k] = '\0';
			json_object_set_new(x, "log", json_string(text));
			json_object_set_new(x, "log_hex", json_string(hex));
		}
		json_object_set_new(u, uart_name[i], x);
	}
	json_object_set_new(o, "dir", json_string(s->dir));
	json_object_set_new(o, "gpio", g);
	json_object_set_new(o, "scd30", scd30_json(s));
	json_object_set_new(o, "uart", u);
	json_object_set_new(o, "pwm", p);
	json_object_set_new(o, "adc", a);
	json_object_set_new(o, "connections", json_integer(s->nconns));
	json_object_set_new(o, "refused_connections", json_integer((json_int_t)s->refused));
	return o;
}

static void ctl_ok_json(struct evbuffer *out, json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (t)
		evbuffer_add_printf(out, "ok %s\n", t);
	else
		evbuffer_add_printf(out, "error out of memory\n");
	free(t);
	json_decref(j);
}

#define ERR(...) do { evbuffer_add_printf(out, "error " __VA_ARGS__); \
		      evbuffer_add(out, "\n", 1); return; } while (0)

static void ctl_request(struct cconn *c, char *req)
{
	struct srv *s = c->s;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char *tok[8], *p = req, err[128];
	size_t nt = 0;
	uint64_t ln, v;
	int i;

	while (*p && nt < 8) {
		tok[nt++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (p && *p)
		ERR("too many words");
	for (i = (int)nt; i < 8; i++)
		tok[i] = NULL;
	if (nt == 0)
		ERR("empty request");
	if (strcmp(tok[0], "gpio") == 0 && nt >= 3) {
		if (parse_u(tok[2], RP_SIM_GPIO_LINES - 1, &ln))
			ERR("gpio: line must be 0..%d", RP_SIM_GPIO_LINES - 1);
		if (strcmp(tok[1], "get") == 0 && nt == 3) {
			evbuffer_add_printf(out, "ok %u\n", s->lines[ln].level);
			return;
		}
		if (strcmp(tok[1], "set") == 0 && nt == 4) {
			if (parse_u(tok[3], 1, &v))
				ERR("gpio: value must be 0 or 1");
			if (s->lines[ln].holder && s->lines[ln].flags & RP_PH_GPIO_OUTPUT)
				ERR("gpio: line %u is held as an output by an app", (unsigned)ln);
			line_set(s, (unsigned)ln, (uint8_t)v);
			evbuffer_add_printf(out, "ok\n");
			return;
		}
		if (strcmp(tok[1], "watch") == 0 && nt == 3) {
			c->watch = (int)ln;
			evbuffer_add_printf(out, "ok %u\n", s->lines[ln].level);
			return;
		}
		ERR("gpio: usage: gpio get|watch LINE, gpio set LINE 0|1");
	}
	if (strcmp(tok[0], "scd30") == 0 && nt >= 2) {
		if (strcmp(tok[1], "get") == 0 && nt == 2)
			return ctl_ok_json(out, scd30_json(s));
		if (strcmp(tok[1], "set") == 0) {
			int64_t co2 = s->scd.co2_m, t = s->scd.t_m, rh = s->scd.rh_m;
			size_t k;

			for (k = 2; k < nt; k++) {
				char *eq = strchr(tok[k], '=');

				if (!eq)
					ERR("scd30: expected NAME=VALUE, got %.32s", tok[k]);
				*eq++ = '\0';
				if (strcmp(tok[k], "co2") == 0) {
					if (parse_milli(eq, 0, 0, RP_SCD30_CO2_MAX_M, &co2))
						ERR("scd30: co2 must be 0..40000 ppm (at most 3 decimals)");
				} else if (strcmp(tok[k], "temperature") == 0) {
					if (parse_milli(eq, 1, RP_SCD30_T_MIN_M, RP_SCD30_T_MAX_M, &t))
						ERR("scd30: temperature must be -40..70 C (at most 3 decimals)");
				} else if (strcmp(tok[k], "humidity") == 0) {
					if (parse_milli(eq, 0, 0, RP_SCD30_RH_MAX_M, &rh))
						ERR("scd30: humidity must be 0..100 %% (at most 3 decimals)");
				} else {
					ERR("scd30: unknown value %.32s", tok[k]);
				}
			}
			s->scd.co2_m = (int32_t)co2;
			s->scd.t_m = (int32_t)t;
			s->scd.rh_m = (int32_t)rh;
			evbuffer_add_printf(out, "ok\n");
			return;
		}
		ERR("scd30: usage: scd30 get, scd30 set [co2=PPM] [temperature=C] [humidity=RH]");
	}
	if (strcmp(tok[0], "pwm") == 0 && nt == 3 && strcmp(tok[1], "get") == 0) {
		json_t *j;

		if (parse_u(tok[2], RP_SIM_PWM_CHANNELS - 1, &v))
			ERR("pwm: channel must be 0..%d", RP_SIM_PWM_CHANNELS - 1);
		j = pwm_json(s, (unsigned)v, err, sizeof(err));
		if (!j)
			ERR("%s", err);
		return ctl_ok_json(out, j);
	}
	if (strcmp(tok[0], "adc") == 0 && nt == 4 && strcmp(tok[1], "set") == 0) {
		char path[64], text[16];

		if (parse_u(tok[2], RP_SIM_ADC_CHANNELS - 1, &ln))
			ERR("adc: channel must be 0..%d", RP_SIM_ADC_CHANNELS - 1);
		if (parse_u(tok[3], RP_SIM_ADC_MAX, &v))
			ERR("adc: raw value must be 0..%d", RP_SIM_ADC_MAX);
		snprintf(path, sizeof(path), ADC_DIR "/in_voltage%u_raw", (unsigned)ln);
		snprintf(text, sizeof(text), "%u\n", (unsigned)v);
		if (write_small(s->dfd, path, text, 0))
			ERR("adc: cannot write %s", path);
		evbuffer_add_printf(out, "ok\n");
		return;
	}
	if (strcmp(tok[0], "uart") == 0 && nt == 4 && strcmp(tok[1], "send") == 0) {
		uint8_t buf[RP_SIM_CTL_LINE_MAX / 2];
		size_t n = strlen(tok[3]), k;
		ssize_t w;

		if (parse_u(tok[2], 1, &ln))
			ERR("uart: must be 0 or 1");
		if (n % 2 || n / 2 > sizeof(buf))
			ERR("uart: data must be hex");
		for (k = 0; k < n / 2; k++) {
			int hi = hexval(tok[3][2 * k]), lo = hexval(tok[3][2 * k + 1]);

			if (hi < 0 || lo < 0)
				ERR("uart: data must be hex");
			buf[k] = (uint8_t)(hi << 4 | lo);
		}
		w = write(s->uart[ln].master, buf, n / 2);
		if (w < 0)
			ERR("uart%u: %s", (unsigned)ln, strerror(errno));
		s->uart[ln].tx += (uint64_t)w;
		if ((size_t)w != n / 2)
			ERR("uart%u: only %zd of %zu bytes fit (is the app reading?)", (unsigned)ln, w, n / 2);
		evbuffer_add_printf(out, "ok\n");
		return;
	}
	if (strcmp(tok[0], "status") == 0 && nt == 1)
		return ctl_ok_json(out, status_json(s));
	ERR("unknown request (gpio, scd30, pwm, adc, uart, status)");
}

static void on_ctl_read(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (c->dead)
		return;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
		if (n > RP_SIM_CTL_LINE_MAX || strlen(line) != n)
			evbuffer_add_printf(bufferevent_get_output(bev), "error bad request line\n");
		else
			ctl_request(c, line);
		free(line);
	}
	if (evbuffer_get_length(in) > RP_SIM_CTL_LINE_MAX ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > CTL_OUT_MAX)
		cconn_free(c);
}

static void on_ctl_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		cconn_free(arg);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	struct cconn *c, *next;

	(void)fd;
	(void)what;
	for (c = s->cconns; c; c = next) {
		next = c->next;
		if (c->dead)
			cconn_free(c);
	}
}

/* ---- listeners ---- */

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct srv *s = arg;
	enum dev d;
	int i, fd;

	(void)what;
	for (d = DEV_GPIO; d < DEV_N; d++)
		if (s->lfd[d] == lfd)
			break;
	if (d == DEV_N)
		return;
	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (s->nconns >= RP_SIM_CONNS_MAX) {
			if (!s->refused++)
				logf_("%d clients already: refusing more", RP_SIM_CONNS_MAX);
			close(fd);
			continue;
		}
		if (d == DEV_CTL) {
			struct cconn *c = calloc(1, sizeof(*c));

			if (!c || !(c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
				free(c);
				close(fd);
				continue;
			}
			c->s = s;
			c->watch = -1;
			bufferevent_setwatermark(c->bev, EV_READ, 0, RP_SIM_CTL_LINE_MAX * 4);
			bufferevent_setcb(c->bev, on_ctl_read, NULL, on_ctl_event, c);
			bufferevent_enable(c->bev, EV_READ | EV_WRITE);
			c->next = s->cconns;
			if (c->next)
				c->next->prev = c;
			s->cconns = c;
		} else {
			struct pconn *c = calloc(1, sizeof(*c));

			if (c) {
				c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_pconn_read, c);
				c->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_pconn_write, c);
			}
			if (!c || !c->rev || !c->wev) {
				if (c) {
					event_free(c->rev);
					event_free(c->wev);
				}
				free(c);
				close(fd);
				continue;
			}
			c->s = s;
			c->fd = fd;
			c->dev = d;
			c->line = -1;
			event_add(c->rev, NULL);
			c->next = s->pconns;
			if (c->next)
				c->next->prev = c;
			s->pconns = c;
		}
		s->nconns++;
	}
}

static int make_listener(struct srv *s, enum dev d)
{
	int type = d == DEV_CTL ? SOCK_STREAM : SOCK_SEQPACKET;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", s->dir, dev_name[d]);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		logf_("%s/%s: path too long for a socket", s->dir, dev_name[d]);
		return -1;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	old = umask(077);
	n = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (n || fchmodat(s->dfd, dev_name[d], 0600, 0) || listen(fd, RP_SIM_CONNS_MAX)) {
		logf_("%s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	s->lfd[d] = fd;
	s->lev[d] = event_new(s->base, fd, EV_READ | EV_PERSIST, on_accept, s);
	return s->lev[d] && event_add(s->lev[d], NULL) == 0 ? 0 : -1;
}

/* ---- UARTs ---- */

static void on_uart(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	int i = s->uart[0].master == fd ? 0 : 1;
	struct uart *u = &s->uart[i];
	uint8_t buf[UART_CHUNK];
	ssize_t r, w;

	(void)what;
	r = read(fd, buf, sizeof(buf));
	if (r <= 0) {
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		event_del(u->ev);
		return;
	}
	u->rx += (uint64_t)r;
	if (i == 0) {
		/* Echo. If the app does not read, the pty fills: drop, count. */
		w = write(fd, buf, (size_t)r);
		if (w > 0)
			u->tx += (uint64_t)w;
		u->dropped += (uint64_t)(r - (w > 0 ? w : 0));
		return;
	}
	if ((size_t)r >= RP_SIM_UART_LOG) {
		memcpy(u->log, buf + (size_t)r - RP_SIM_UART_LOG, RP_SIM_UART_LOG);
		u->log_len = RP_SIM_UART_LOG;
	} else {
		size_t keep = u->log_len + (size_t)r > RP_SIM_UART_LOG ?
			      RP_SIM_UART_LOG - (size_t)r : u->log_len;

		memmove(u->log, u->log + u->log_len - keep, keep);
		memcpy(u->log + keep, buf, (size_t)r);
		u->log_len = keep + (size_t)r;
	}
}

static int make_uart(struct srv *s, int i)
{
	struct uart *u = &s->uart[i];
	struct termios t;

	if (openpty(&u->master, &u->slave, NULL, NULL, NULL)) {
		logf_("openpty: %s", strerror(errno));
		return -1;
	}
	/* Raw, like a UART: the app's UART_Open sets its own mode. The sim
	 * keeps the slave open so the master never sees a hangup. */
	if (tcgetattr(u->slave, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(u->slave, TCSANOW, &t);
	}
	if (fcntl(u->master, F_SETFL, O_NONBLOCK) || fcntl(u->master, F_SETFD, FD_CLOEXEC) ||
	    fcntl(u->slave, F_SETFD, FD_CLOEXEC) ||
	    ttyname_r(u->slave, u->pts, sizeof(u->pts)) ||
	    symlinkat(u->pts, s->dfd, uart_name[i])) {
		logf_("%s: %s", uart_name[i], strerror(errno));
		return -1;
	}
	u->ev = event_new(s->base, u->master, EV_READ | EV_PERSIST, on_uart, s);
	return u->ev && event_add(u->ev, NULL) == 0 ? 0 : -1;
}

/* ---- PWM and ADC directories ---- */

/* Remove DIR/name and, at most two levels down, what it holds. Never
 * follows a symbolic link. */
static void rm_tree(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		(void)unlinkat(dfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR && depth > 0)
			rm_tree(fd, de->d_name, depth - 1);
		else
			(void)unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Make a directory of files atomically: build it as .NAME.tmp, rename. */
static int make_dir(int dfd, const char *name, const char *const *files,
		    const char *const *contents, size_t n)
{
	char tmp[NAME_MAX];
	int fd, rc = -1;
	size_t i;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	rm_tree(dfd, tmp, 1);
	if (mkdirat(dfd, tmp, 0755))
		return -1;
	fd = openat(dfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strchr(files[i], '/')) {
			char sub[NAME_MAX];
			size_t l = (size_t)(strchr(files[i], '/') - files[i]);

			snprintf(sub, sizeof(sub), "%.*s", (int)l, files[i]);
			if (mkdirat(fd, sub, 0755) && errno != EEXIST)
				goto out;
		}
		if (write_small(fd, files[i], contents[i], 1))
			goto out;
	}
	rc = renameat(dfd, tmp, dfd, name);
out:
	close(fd);
	if (rc)
		rm_tree(dfd, tmp, 1);
	return rc;
}

static void pwm_export(struct srv *s, const char *file)
{
	static const char *const f[] = { "period", "duty_cycle", "polarity", "enable" };
	static const char *const v[] = { "0\n", "0\n", "normal\n", "0\n" };
	char path[64], text[32], name[16];
	uint64_t ch;

	snprintf(path, sizeof(path), PWM_DIR "/%s", file);
	if (read_small(s->dfd, path, text, sizeof(text)) || text[0] == '\0')
		return;
	(void)write_small(s->dfd, path, "", 0);
	if (rp_parse_u64z(text, RP_SIM_PWM_CHANNELS - 1, &ch)) {
		logf_("pwmchip0/%s: %.16s is not a channel (0..%d)", file, text,
		      RP_SIM_PWM_CHANNELS - 1);
		return;
	}
	snprintf(name, sizeof(name), "pwm%u", (unsigned)ch);
	snprintf(path, sizeof(path), PWM_DIR "/%s", name);
	if (strcmp(file, "unexport") == 0) {
		rm_tree(s->dfd, path, 0);
		return;
	}
	if (faccessat(s->dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return; /* already exported */
	{
		int pfd = openat(s->dfd, PWM_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (pfd < 0 || make_dir(pfd, name, f, v, 4))
			logf_("pwmchip0: cannot export %s: %s", name, strerror(errno));
		if (pfd >= 0)
			close(pfd);
	}
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;
	size_t off;

	(void)what;
	r = read(fd, buf, sizeof(buf));
	if (r <= 0)
		return;
	for (off = 0; off + sizeof(struct inotify_event) <= (size_t)r;) {
		const struct inotify_event *ev = (const struct inotify_event *)(buf + off);

		if (ev->len && ev->mask & IN_CLOSE_WRITE &&
		    (strcmp(ev->name, "export") == 0 || strcmp(ev->name, "unexport") == 0))
			pwm_export(s, ev->name);
		off += sizeof(struct inotify_event) + ev->len;
	}
}

static int make_pwm_adc(struct srv *s)
{
	static const char *const pf[] = { "npwm", "export", "unexport" };
	static const char *const pv[] = { "2\n", "", "" };
	static const char *const af[] = {
		"name", "in_voltage0_raw", "in_voltage1_raw", "in_voltage2_raw",
		"in_voltage3_raw", "in_voltage_scale",
		"scan_elements/in_voltage0_type", "scan_elements/in_voltage1_type",
		"scan_elements/in_voltage2_type", "scan_elements/in_voltage3_type",
	};
	/* 12-bit samples of 0..3.3 V: scale = 3300 / 4096 mV per step. */
	static const char *const av[] = {
		"rampart-sim-adc\n", "2048\n", "2048\n", "2048\n", "2048\n",
		"0.805664062\n", "le:u12/16>>0\n", "le:u12/16>>0\n",
		"le:u12/16>>0\n", "le:u12/16>>0\n",
	};
	char path[PATH_MAX + 16];

	if (make_dir(s->dfd, PWM_DIR, pf, pv, 3)) {
		logf_("%s/" PWM_DIR ": %s", s->dir, strerror(errno));
		return -1;
	}
	s->made_pwm = 1;
	if (make_dir(s->dfd, ADC_DIR, af, av, sizeof(af) / sizeof(af[0]))) {
		logf_("%s/" ADC_DIR ": %s", s->dir, strerror(errno));
		return -1;
	}
	s->made_adc = 1;
	snprintf(path, sizeof(path), "%s/" PWM_DIR, s->dir);
	s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino < 0 || (s->ino_wd = inotify_add_watch(s->ino, path, IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW)) < 0) {
		logf_("inotify: %s", strerror(errno));
		return -1;
	}
	s->ino_ev = event_new(s->base, s->ino, EV_READ | EV_PERSIST, on_inotify, s);
	return s->ino_ev && event_add(s->ino_ev, NULL) == 0 ? 0 : -1;
}

/* ---- setup and teardown ---- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct srv *s = arg;

	(void)what;
	logf_("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopexit(s->base, NULL);
}

/* Remove a stale entry of ours (a socket or a symlink); anything else
 * under that name is refused. */
static int clear_entry(struct srv *s, const char *name, mode_t want)
{
	struct stat st;

	if (fstatat(s->dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	if ((st.st_mode & S_IFMT) != want) {
		logf_("%s/%s exists and is not ours: refusing to remove it", s->dir, name);
		return -1;
	}
	return unlinkat(s->dfd, name, 0);
}

static int another_running(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control", dir) >= (int)sizeof(sa.sun_path))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return rc;
}

static int setup(struct srv *s, const char *dir, uint64_t seed)
{
	struct stat st;
	enum dev d;
	int i;

	if (snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir) || dir[0] != '/') {
		logf_("--dir must be an absolute path");
		return -1;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		logf_("%s: %s", dir, strerror(errno));
		return -1;
	}
	s->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dfd < 0 || fstat(s->dfd, &st) || st.st_uid != geteuid()) {
		logf_("%s: not a directory of ours", dir);
		return -1;
	}
	if (another_running(dir)) {
		logf_("%s: another rampart-sim serves it", dir);
		return -1;
	}
	for (d = DEV_GPIO; d < DEV_N; d++)
		if (clear_entry(s, dev_name[d], S_IFSOCK))
			return -1;
	for (i = 0; i < 2; i++)
		if (clear_entry(s, uart_name[i], S_IFLNK))
			return -1;
	rm_tree(s->dfd, PWM_DIR, 2);
	rm_tree(s->dfd, ADC_DIR, 2);
	rp_scd30_init(&s->scd, seed);
	for (i = 0; i < RP_SIM_GPIO_LINES; i++)
		s->lines[i].level = 1; /* buttons released (active low) */
	for (d = DEV_GPIO; d < DEV_N; d++)
		if (make_listener(s, d))
			return -1;
	for (i = 0; i < 2; i++)
		if (make_uart(s, i))
			return -1;
	if (make_pwm_adc(s))
		return -1;
	s->reap = event_new(s->base, -1, 0, on_reap, s);
	if (!s->reap)
		return -1;
	s->sig[0] = evsignal_new(s->base, SIGTERM, on_signal, s);
	s->sig[1] = evsignal_new(s->base, SIGINT, on_signal, s);
	for (i = 0; i < 2; i++)
		if (!s->sig[i] || event_add(s->sig[i], NULL))
			return -1;
	return 0;
}

static void teardown(struct srv *s)
{
	enum dev d;
	int i;

	while (s->pconns)
		pconn_free(s->pconns);
	while (s->cconns)
		cconn_free(s->cconns);
	for (d = DEV_GPIO; d < DEV_N; d++) {
		if (s->lev[d])
			event_free(s->lev[d]);
		if (s->lfd[d] >= 0) {
			close(s->lfd[d]);
			(void)unlinkat(s->dfd, dev_name[d], 0);
		}
	}
	for (i = 0; i < 2; i++) {
		struct uart *u = &s->uart[i];

		if (u->ev)
			event_free(u->ev);
		if (u->master >= 0) {
			close(u->master);
			close(u->slave);
			(void)clear_entry(s, uart_name[i], S_IFLNK);
		}
		if (s->sig[i])
			event_free(s->sig[i]);
	}
	if (s->ino_ev)
		event_free(s->ino_ev);
	if (s->reap)
		event_free(s->reap);
	if (s->ino >= 0)
		close(s->ino);
	if (s->dfd >= 0) {
		if (s->made_pwm)
			rm_tree(s->dfd, PWM_DIR, 2);
		if (s->made_adc)
			rm_tree(s->dfd, ADC_DIR, 2);
		close(s->dfd);
		(void)rmdir(s->dir); /* only when empty */
	}
	if (s->base)
		event_base_free(s->base);
}

int rp_sim_serve(const char *dir, uint64_t seed)
{
	struct srv *s = calloc(1, sizeof(*s));
	int rc = 1, i;

	if (!s) {
		logf_("out of memory");
		return 1;
	}
	s->dfd = s->ino = -1;
	for (i = 0; i < DEV_N; i++)
		s->lfd[i] = -1;
	for (i = 0; i < 2; i++)
		s->uart[i].master = s->uart[i].slave = -1;
	signal(SIGPIPE, SIG_IGN);
	s->base = event_base_new();
	if (s->base && setup(s, dir, seed) == 0) {
		fputs("ready\n", stdout);
		fflush(stdout);
		if (event_base_dispatch(s->base) == 0)
			rc = 0;
	}
	teardown(s);
	free(s);
	return rc;
}
