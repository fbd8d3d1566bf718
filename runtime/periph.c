/* Peripherals: the device's board (config "board"), the install check
 * that a manifest names only peripherals the board has, and the app
 * socket's {"open":...} request (docs/formats/peripheral-protocol.md).
 *
 * An app never opens a device itself. rampartd finds the board
 * peripheral the app named (type and MainCoreHeaderValue), requires the
 * app's manifest to grant it, opens it according to the board's Linux
 * mapping and hands the app one descriptor:
 *   - a unix SEQPACKET socket (rampart-sim): connect, scope it with rpph
 *     OPEN, hand the connection;
 *   - a GPIO chip (character device): a GPIO v2 line request for exactly
 *     that line;
 *   - /dev/i2c-N, /dev/spidevB.C, a tty: the opened node;
 *   - a sysfs PWM chip or IIO ADC directory (root-only files): rampartd
 *     serves the handle itself on one end of a socketpair, kept with the
 *     app instance and closed when it ends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/bytes.h"
#include "base/num.h"
#include "format/board.h"
#include "periph/periph.h"
#include "rampartd.h"

#define SIM_PREFIX "/run/rampart-sim"
#define PH_CALL_MS 2000       /* rampart-sim answers an OPEN within this */
#define PH_PER_INST 16        /* served handles per app instance */
#define ADC_BITS_DEFAULT 12   /* boards do not say yet: docs/runtime.md */
#define ADC_REF_CHANNELS 16
#define EXPORT_WAIT_MS 1000   /* sysfs PWM export: pwmN/ appears */
#define SYSFS_READ_MAX 64

/* One handle rampartd serves (PWM, ADC): the server end of a socketpair. */
struct rpd_ph {
	struct rpd_ph *next;
	struct inst *in;
	int fd;
	struct event *ev;
	uint32_t kind;                 /* RP_PH_KIND_PWM or RP_PH_KIND_ADC */
	char dir[PATH_MAX];            /* pwmchipN/ or iio:deviceN/ */
	uint32_t ref_mv[ADC_REF_CHANNELS]; /* ADC_REF, remembered */
};

/* --- the board ---------------------------------------------------------- */

int rpd_periph_init(struct rpd *d, struct rp_err *e)
{
	int rc;

	if (!d->cfg.board[0])
		return 0;
	if ((rc = rp_board_load(d->cfg.board, NULL, &d->board, e))) {
		rp_err_prefix(e, "board %s", d->cfg.board);
		return rc;
	}
	rpd_log("board: %s (%s), %zu peripherals", rp_board_name(d->board),
		d->cfg.board, rp_board_count(d->board));
	return 0;
}

void rpd_periph_fini(struct rpd *d)
{
	rp_board_free(d->board);
	d->board = NULL;
}

/* The capabilities naming one peripheral each (one app each). */
static const char *const caps[] = {
	"Gpio", "I2cMaster", "SpiMaster", "Uart", "Pwm", "Adc", NULL,
};

/* A base peripheral (not a Mapping) of type with AppManifestValue v. */
static const struct rp_board_periph *find_value(const struct rp_board *b,
						const char *type, const json_t *v)
{
	size_t i;

	for (i = 0; i < rp_board_count(b); i++) {
		const struct rp_board_periph *p = rp_board_at(b, i);

		if (!p->mapping && p->value && strcmp(p->type, type) == 0 &&
		    json_equal((json_t *)(uintptr_t)p->value, (json_t *)(uintptr_t)v))
			return p;
	}
	return NULL;
}

int rpd_periph_check_manifest(const struct rpd *d, const struct rp_manifest *m,
			      struct rp_err *e)
{
	json_t *c = json_object_get(m->root, "Capabilities");
	const char *const *k;
	size_t i;

	if (!d->board)
		return 0;
	for (k = caps; *k; k++) {
		json_t *arr = json_object_get(c, *k);

		for (i = 0; i < json_array_size(arr); i++) {
			json_t *v = json_array_get(arr, i);
			char *t;

			if (find_value(d->board, *k, v))
				continue;
			t = json_dumps(v, JSON_ENCODE_ANY);
			rp_err_set(e, RP_EPOLICY, "Capabilities.%s: %s is not a peripheral "
				   "of this device's board (%s)", *k, t ? t : "?",
				   rp_board_name(d->board));
			free(t);
			return RP_EPOLICY;
		}
	}
	return 0;
}

/* "(N)" -> N. */
static int header_id(const char *s, uint32_t *out)
{
	size_t n = s ? strlen(s) : 0;
	uint64_t v;

	if (n < 3 || s[0] != '(' || s[n - 1] != ')' ||
	    rp_parse_u64(s + 1, n - 2, RP_APPREQ_ID_MAX, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static const struct rp_board_periph *find_id(const struct rp_board *b,
					     const char *type, uint32_t id)
{
	size_t i;
	uint32_t h;

	for (i = 0; i < rp_board_count(b); i++) {
		const struct rp_board_periph *p = rp_board_at(b, i);

		if (!p->mapping && p->value && strcmp(p->type, type) == 0 &&
		    header_id(p->header_value, &h) == 0 && h == id)
			return p;
	}
	return NULL;
}

static int granted(const struct rp_manifest *m, const char *type,
		   const json_t *v)
{
	json_t *arr = json_object_get(json_object_get(m->root, "Capabilities"), type);
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		if (json_equal(json_array_get(arr, i), (json_t *)(uintptr_t)v))
			return 1;
	return 0;
}

/* The mapping path, with board_root in place of /run/rampart-sim. */
static int real_path(const struct rpd *d, const char *p, char *out, size_t cap,
		     struct rp_err *e)
{
	size_t n = strlen(SIM_PREFIX);
	int k;

	if (d->cfg.board_root[0] && strncmp(p, SIM_PREFIX, n) == 0 &&
	    (p[n] == '/' || p[n] == '\0'))
		k = snprintf(out, cap, "%s%s", d->cfg.board_root, p + n);
	else
		k = snprintf(out, cap, "%s", p);
	if (k < 0 || (size_t)k >= cap)
		return rp_err_set(e, -ENAMETOOLONG, "%s: path too long", p);
	return 0;
}

/* --- socket-backed peripherals (rampart-sim) ------------------------------ */

static int ph_connect(const char *path, uint32_t kind, uint32_t b,
		      const uint8_t *data, uint32_t len, int *out,
		      struct rp_err *e)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = PH_CALL_MS / 1000 };
	struct rp_ph_msg req = { .op = RP_PH_OPEN, .a = kind, .b = b, .len = len,
				 .data = data }, rep;
	uint8_t *buf = NULL;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return rp_err_set(e, -EIO, "%s: path too long for a socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rp_err_errno(e, errno, "socket");
	/* Bounded: the event loop waits for this connect and OPEN. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = rp_err_set(e, errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -EIO,
				"%s: %s", path, strerror(errno));
		goto fail;
	}
	buf = malloc(RP_PH_MSG_MAX);
	if (!buf) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = rp_ph_call(fd, &req, &rep, buf, PH_CALL_MS))) {
		rc = rp_err_set(e, -EIO, "%s: no answer to OPEN: %s", path, strerror(-rc));
		goto fail;
	}
	if (rep.status) {
		rc = rp_err_set(e, rep.status == EBUSY ? -EBUSY :
				rep.status == ENODEV || rep.status == ENXIO ? -ENODEV : -EIO,
				"%s: %s", path, rep.status == EBUSY ?
				"in use by another handle" : strerror(rep.status));
		goto fail;
	}
	free(buf);
	*out = fd;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

/* --- kernel GPIO ------------------------------------------------------------ */

/* The /dev/gpiochipN whose label is label, opened. */
static int chip_by_label(const char *label, int *out, struct rp_err *e)
{
	struct dirent *de;
	DIR *dp = opendir("/dev");

	if (!dp)
		return rp_err_errno(e, errno, "/dev");
	while ((de = readdir(dp))) {
		struct gpiochip_info info;
		char p[300];
		int fd;

		if (strncmp(de->d_name, "gpiochip", 8) != 0 ||
		    snprintf(p, sizeof(p), "/dev/%s", de->d_name) >= (int)sizeof(p))
			continue;
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &info) == 0 &&
		    strncmp(info.label, label, sizeof(info.label)) == 0) {
			closedir(dp);
			*out = fd;
			return 0;
		}
		close(fd);
	}
	closedir(dp);
	return rp_err_set(e, -ENODEV, "no GPIO chip is labelled %s", label);
}

static int gpio_line(int chip, const char *what, uint32_t line,
		     const struct rp_appreq *r, const char *consumer, int *out,
		     struct rp_err *e)
{
	struct gpio_v2_line_request req;
	size_t n = strlen(consumer);

	memset(&req, 0, sizeof(req));
	req.offsets[0] = line;
	req.num_lines = 1;
	if (n >= sizeof(req.consumer))
		n = sizeof(req.consumer) - 1;
	memcpy(req.consumer, consumer, n);
	if (r->output) {
		req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
		if (r->drive == RP_DRIVE_OPEN_DRAIN)
			req.config.flags |= GPIO_V2_LINE_FLAG_OPEN_DRAIN;
		else if (r->drive == RP_DRIVE_OPEN_SOURCE)
			req.config.flags |= GPIO_V2_LINE_FLAG_OPEN_SOURCE;
		req.config.num_attrs = 1;
		req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
		req.config.attrs[0].attr.values = (uint64_t)(unsigned)r->value;
		req.config.attrs[0].mask = 1;
	} else {
		req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
	}
	if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0)
		return rp_err_set(e, errno == EBUSY ? -EBUSY : errno == EINVAL ? -ENODEV : -EIO,
				  "%s line %u: %s", what, line, strerror(errno));
	*out = req.fd;
	return 0;
}

static int open_gpio(struct chan_conn *c, const struct rp_board_periph *p,
		     const struct rp_appreq *r, int *out, struct rp_err *e)
{
	const struct rpd *d = c->app->d;
	char path[PATH_MAX], consumer[64];
	struct stat st;
	uint32_t line = (uint32_t)p->linux_line;
	int chip = -1, rc;

	/* Shown by gpioinfo as the line's user. */
	(void)snprintf(consumer, sizeof(consumer), "rampart:%.8s", c->app->id);
	if (p->linux_label) {
		if ((rc = chip_by_label(p->linux_label, &chip, e)))
			return rc;
		rc = gpio_line(chip, p->linux_label, line, r, consumer, out, e);
		close(chip);
		return rc;
	}
	if ((rc = real_path(d, p->linux_path, path, sizeof(path), e)))
		return rc;
	if (stat(path, &st) < 0)
		return rp_err_set(e, -ENODEV, "%s: %s", path, strerror(errno));
	if (S_ISSOCK(st.st_mode)) {
		uint8_t data[8];
		uint32_t flags = r->output ? RP_PH_GPIO_OUTPUT : 0;

		if (r->output && r->drive == RP_DRIVE_OPEN_DRAIN)
			flags |= RP_PH_GPIO_OPEN_DRAIN;
		else if (r->output && r->drive == RP_DRIVE_OPEN_SOURCE)
			flags |= RP_PH_GPIO_OPEN_SOURCE;
		rp_enc32le(data, flags);
		rp_enc32le(data + 4, (uint32_t)r->value);
		return ph_connect(path, RP_PH_KIND_GPIO, line, data, sizeof(data), out, e);
	}
	if (!S_ISCHR(st.st_mode))
		return rp_err_set(e, -ENODEV, "%s: not a GPIO chip", path);
	chip = open(path, O_RDWR | O_CLOEXEC);
	if (chip < 0)
		return rp_err_set(e, -EIO, "%s: %s", path, strerror(errno));
	rc = gpio_line(chip, path, line, r, consumer, out, e);
	close(chip);
	return rc;
}

/* I2C and SPI: rpph socket, or the kernel's node. */
static int open_bus(struct chan_conn *c, const struct rp_board_periph *p,
		    const struct rp_appreq *r, int *out, struct rp_err *e)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc;
	uint32_t kind = r->periph == RP_PERIPH_I2C ? RP_PH_KIND_I2C : RP_PH_KIND_SPI;

	if ((rc = real_path(c->app->d, p->linux_path, path, sizeof(path), e)))
		return rc;
	if (stat(path, &st) < 0)
		return rp_err_set(e, -ENODEV, "%s: %s", path, strerror(errno));
	if (S_ISSOCK(st.st_mode))
		return ph_connect(path, kind, 0, NULL, 0, out, e);
	if (!S_ISCHR(st.st_mode))
		return rp_err_set(e, -ENODEV, "%s: not a device", path);
	if (r->periph == RP_PERIPH_SPI && r->has_cs) {
		/* /dev/spidevB.C is one chip select: C. */
		const char *dot = strrchr(path, '.');
		uint64_t cs;

		if (dot && rp_parse_u64(dot + 1, strlen(dot + 1), 255, &cs) == 0 &&
		    cs != r->chip_select)
			return rp_err_set(e, -ENODEV, "SpiMaster %u has no chip select %u "
					  "(%s)", r->id, r->chip_select, path);
	}
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rp_err_set(e, errno == EBUSY ? -EBUSY : -EIO, "%s: %s", path,
				  strerror(errno));
	*out = fd;
	return 0;
}

static int open_uart(struct chan_conn *c, const struct rp_board_periph *p,
		     int *out, struct rp_err *e)
{
	char path[PATH_MAX];
	int fd, rc, fl;

	if ((rc = real_path(c->app->d, p->linux_path, path, sizeof(path), e)))
		return rc;
	/* O_NONBLOCK: a serial port without carrier must not block the
	 * loop in open; the app gets a blocking descriptor (the SDK sets
	 * what it needs). */
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return rp_err_set(e, errno == ENOENT ? -ENODEV : errno == EBUSY ? -EBUSY :
				  -EIO, "%s: %s", path, strerror(errno));
	if (!isatty(fd)) {
		close(fd);
		return rp_err_set(e, -ENODEV, "%s: not a terminal", path);
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = rp_err_errno(e, errno, "%s", path);
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* --- PWM and ADC, served by rampartd --------------------------------------- */

static void ph_free(struct rpd_ph *h)
{
	if (h->ev)
		event_free(h->ev);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

static void ph_unlink(struct rpd_ph *h)
{
	struct rpd_ph **pp;

	for (pp = &h->in->ph; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	ph_free(h);
}

void rpd_periph_inst_end(struct inst *in)
{
	struct rpd_ph *h;

	while ((h = in->ph)) {
		in->ph = h->next;
		ph_free(h);
	}
}

/* Read a small sysfs file as a number. Returns 0 or a positive errno. */
static int read_num(const char *path, uint64_t max, uint64_t *out)
{
	char buf[SYSFS_READ_MAX];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return EIO;
	return rp_parse_u64(buf, (size_t)n, max, out) ? EIO : 0;
}

static int write_text(const char *path, const char *text)
{
	size_t n = strlen(text);
	ssize_t w;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno;
	w = write(fd, text, n);
	if (w < 0) {
		int err = errno;

		close(fd);
		return err;
	}
	if (close(fd) < 0)
		return errno;
	return (size_t)w == n ? 0 : EIO;
}

static int write_num(const char *dir, uint32_t ch, const char *attr, uint32_t v)
{
	char p[PATH_MAX], t[16];

	if (snprintf(p, sizeof(p), "%s/pwm%u/%s", dir, ch, attr) >= (int)sizeof(p))
		return ENAMETOOLONG;
	(void)snprintf(t, sizeof(t), "%u", v);
	return write_text(p, t);
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* pwmN/ of the chip, exported if it is not yet (the kernel, or
 * rampart-sim, makes it shortly after the write). */
static int pwm_export(const struct rpd_ph *h, uint32_t ch)
{
	char p[PATH_MAX], t[16];
	uint64_t npwm;
	int i, rc;

	if (snprintf(p, sizeof(p), "%s/npwm", h->dir) >= (int)sizeof(p))
		return ENAMETOOLONG;
	if (read_num(p, 1024, &npwm) == 0 && ch >= npwm)
		return EINVAL;
	if (snprintf(p, sizeof(p), "%s/pwm%u", h->dir, ch) >= (int)sizeof(p))
		return ENAMETOOLONG;
	if (is_dir(p))
		return 0;
	(void)snprintf(t, sizeof(t), "%u", ch);
	{
		char ex[PATH_MAX];

		if (snprintf(ex, sizeof(ex), "%s/export", h->dir) >= (int)sizeof(ex))
			return ENAMETOOLONG;
		if ((rc = write_text(ex, t)) && rc != EBUSY)
			return rc;
	}
	for (i = 0; i < EXPORT_WAIT_MS / 10; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (is_dir(p))
			return 0;
		(void)nanosleep(&ts, NULL);
	}
	return is_dir(p) ? 0 : ETIMEDOUT;
}

static int pwm_apply(const struct rpd_ph *h, const struct rp_ph_msg *m)
{
	uint32_t ch = m->a;
	uint32_t period = rp_dec32le(m->data), duty = rp_dec32le(m->data + 4);
	uint32_t polarity = rp_dec32le(m->data + 8), enable = rp_dec32le(m->data + 12);
	char p[PATH_MAX];
	uint64_t cur_duty = 0, cur_pol = 0;
	int rc;

	if ((rc = pwm_export(h, ch)))
		return rc;
	if (snprintf(p, sizeof(p), "%s/pwm%u/duty_cycle", h->dir, ch) >= (int)sizeof(p))
		return ENAMETOOLONG;
	(void)read_num(p, UINT32_MAX, &cur_duty);
	if (snprintf(p, sizeof(p), "%s/pwm%u/polarity", h->dir, ch) >= (int)sizeof(p))
		return ENAMETOOLONG;
	{
		char buf[SYSFS_READ_MAX];
		ssize_t n;
		int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				cur_pol = strncmp(buf, "inversed", 8) == 0;
			}
		}
	}
	/* The kernel changes polarity only on a disabled channel. */
	if (cur_pol != polarity) {
		if ((rc = write_num(h->dir, ch, "enable", 0)))
			return rc;
		if ((rc = write_text(p, polarity ? "inversed" : "normal")))
			return rc;
	}
	/* sysfs refuses duty > period at every step: shrink duty first when
	 * the new period is below the current duty. */
	if (period < cur_duty) {
		if ((rc = write_num(h->dir, ch, "duty_cycle", duty)) ||
		    (rc = write_num(h->dir, ch, "period", period)))
			return rc;
	} else if ((rc = write_num(h->dir, ch, "period", period)) ||
		   (rc = write_num(h->dir, ch, "duty_cycle", duty))) {
		return rc;
	}
	return write_num(h->dir, ch, "enable", enable);
}

static int adc_path(const struct rpd_ph *h, uint32_t ch, char *p, size_t cap)
{
	return snprintf(p, cap, "%s/in_voltage%u_raw", h->dir, ch) >= (int)cap ?
	       ENAMETOOLONG : 0;
}

static void on_ph(evutil_socket_t fd, short what, void *arg)
{
	struct rpd_ph *h = arg;
	uint8_t buf[RP_PH_MSG_MAX];
	struct rp_ph_msg m;
	char p[PATH_MAX];
	uint64_t v = 0;
	uint32_t b = 0;
	ssize_t n;
	int st = 0, rc;

	(void)what;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ph_unlink(h); /* the app closed its end */
		return;
	}
	if ((size_t)n > sizeof(buf) || rp_ph_decode(buf, (size_t)n, &m)) {
		(void)rp_ph_reply(fd, n >= 2 ? rp_dec16le(buf) : 0, EBADMSG, 0, NULL, 0);
		return;
	}
	rc = rp_ph_check_request(&m);
	if (rc) {
		(void)rp_ph_reply(fd, m.op, (uint16_t)-rc, 0, NULL, 0);
		return;
	}
	switch (m.op) {
	case RP_PH_OPEN:
		st = EPERM; /* scoped when made; never widened */
		break;
	case RP_PH_PWM_APPLY:
		st = h->kind == RP_PH_KIND_PWM ? pwm_apply(h, &m) : EBADF;
		break;
	case RP_PH_ADC_POLL:
		if (h->kind != RP_PH_KIND_ADC) {
			st = EBADF;
			break;
		}
		if (!(st = adc_path(h, m.a, p, sizeof(p))) &&
		    (st = read_num(p, UINT32_MAX, &v)) == ENOENT)
			st = ENODEV;
		b = (uint32_t)v;
		break;
	case RP_PH_ADC_BITS:
	case RP_PH_ADC_REF:
		if (h->kind != RP_PH_KIND_ADC) {
			st = EBADF;
			break;
		}
		if ((st = adc_path(h, m.a, p, sizeof(p))))
			break;
		if (access(p, R_OK) < 0) {
			st = ENODEV;
			break;
		}
		if (m.op == RP_PH_ADC_BITS)
			b = ADC_BITS_DEFAULT;
		else if (m.a < ADC_REF_CHANNELS)
			h->ref_mv[m.a] = m.b;
		break;
	default:
		st = EBADF; /* an op of another kind of handle */
		break;
	}
	if (st > 0xffff)
		st = EIO;
	if (rp_ph_reply(fd, m.op, (uint16_t)st, b, NULL, 0) < 0)
		ph_unlink(h);
}

static int serve(struct chan_conn *c, const struct rp_board_periph *p,
		 uint32_t kind, int *out, struct rp_err *e)
{
	struct inst *in = c->app->cur;
	struct rpd_ph *h;
	char path[PATH_MAX];
	int sp[2], rc, k = 0;

	if (!in)
		return rp_err_set(e, -EIO, "the app is not running");
	for (h = in->ph; h; h = h->next)
		k++;
	if (k >= PH_PER_INST)
		return rp_err_set(e, -EMFILE, "more than %d PWM and ADC handles open",
				  PH_PER_INST);
	if ((rc = real_path(c->app->d, p->linux_path, path, sizeof(path), e)))
		return rc;
	if (!is_dir(path))
		return rp_err_set(e, -ENODEV, "%s: not a directory", path);
	h = calloc(1, sizeof(*h));
	if (!h)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	h->fd = -1;
	h->in = in;
	h->kind = kind;
	memcpy(h->dir, path, strlen(path) + 1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rc = rp_err_errno(e, errno, "socketpair");
		free(h);
		return rc;
	}
	h->fd = sp[0];
	h->ev = event_new(c->app->d->base, sp[0], EV_READ | EV_PERSIST, on_ph, h);
	if (!h->ev || event_add(h->ev, NULL)) {
		ph_free(h);
		close(sp[1]);
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	}
	h->next = in->ph;
	in->ph = h;
	*out = sp[1];
	return 0;
}

/* --- the open request ------------------------------------------------------- */

int rpd_periph_open(struct chan_conn *c, const struct rp_appreq *r, int *fd,
		    struct rp_err *e)
{
	const struct rpd *d = c->app->d;
	const char *type = rp_appreq_periph_name(r->periph);
	const struct rp_board_periph *p;
	char *t;

	*fd = -1;
	if (!d->board)
		return rp_err_set(e, -ENODEV, "no board configured: this device has no "
				  "peripherals");
	p = find_id(d->board, type, r->id);
	if (!p)
		return rp_err_set(e, -ENODEV, "the board has no %s %u", type, r->id);
	if (!granted(c->app->manifest, type, p->value)) {
		t = json_dumps(p->value, JSON_ENCODE_ANY);
		rp_err_set(e, -EACCES, "%s %s is not granted by this app's manifest "
			   "(Capabilities.%s)", type, t ? t : "?", type);
		free(t);
		return -EACCES;
	}
	if (!p->linux_path && !p->linux_label)
		return rp_err_set(e, -ENODEV, "%s %u (%s) has no Linux device on this "
				  "board", type, r->id, p->name);
	switch (r->periph) {
	case RP_PERIPH_GPIO:
		return open_gpio(c, p, r, fd, e);
	case RP_PERIPH_I2C:
	case RP_PERIPH_SPI:
		return open_bus(c, p, r, fd, e);
	case RP_PERIPH_UART:
		return open_uart(c, p, fd, e);
	case RP_PERIPH_PWM:
		return serve(c, p, RP_PH_KIND_PWM, fd, e);
	case RP_PERIPH_ADC:
		return serve(c, p, RP_PH_KIND_ADC, fd, e);
	}
	return rp_err_set(e, -EINVAL, "unknown peripheral");
}
