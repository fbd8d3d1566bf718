/* periph_app: a test app that speaks the app socket and rpph directly
 * (no SDK), for tests/system/test_peripherals.py. Its CmdArgs are steps,
 * run in order; each prints one line "periph: <step>: <result>" for the
 * test to read in the app's log. The descriptor of the last successful
 * request that carried one is "the handle" later steps use.
 *
 *   req JSON            send one app-socket line; print the reply (and
 *                       "+fd" when a descriptor came with it)
 *   wait-event          print the next event line rampartd sends
 *   gpio-get | gpio-set V
 *   i2c-read ADDR HEXWRITE N      one write-then-read transfer
 *   spi-xfer HEXWRITE N           write then read (loopback device)
 *   pwm CH PERIOD DUTY POLARITY ENABLED
 *   adc-poll CH | adc-bits CH | adc-ref CH MV
 *   reopen              send rpph OPEN on the handle (must be refused)
 *   bad-op              an op of another kind (must be refused)
 *   uart-echo TEXT      write TEXT to the handle and read what comes back
 *   devopen PATH        open(PATH) inside the compartment
 *   close               close the handle
 *   sleep MS
 *   hold                stay running until SIGTERM (exit 0)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/num.h"
#include "ctl/ctl.h"
#include "periph/periph.h"

static int app_sock = -1, handle = -1;
static struct rp_ctl_lines lines;

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
		printf("periph: cannot reach %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* The next line from rampartd (5 s at most): 0, or -1. */
static int next_line(char *out, size_t cap, int *fd)
{
	size_t n;
	struct rp_err e;

	*fd = -1;
	for (;;) {
		struct pollfd p = { .fd = app_sock, .events = POLLIN };
		int rc;

		if (rp_ctl_lines_next(&lines, (uint8_t *)out, cap - 1, &n, fd) == 0) {
			out[n] = '\0';
			return 0;
		}
		if (poll(&p, 1, 5000) != 1)
			return -1;
		rc = rp_ctl_lines_fill(app_sock, &lines, 1, 0, &e);
		if (rc)
			return -1;
	}
}

static void req(const char *json)
{
	char line[RP_CTL_CHAN_MAX + 1];
	int fd;

	if (rp_ctl_send(app_sock, json, strlen(json), -1, NULL) ||
	    rp_ctl_send(app_sock, "\n", 1, -1, NULL)) {
		printf("periph: req: send failed\n");
		return;
	}
	for (;;) {
		if (next_line(line, sizeof(line), &fd)) {
			printf("periph: req %s: no reply\n", json);
			return;
		}
		if (strncmp(line, "{\"event\"", 8) == 0) {
			printf("periph: event: %s\n", line);
			continue;
		}
		break;
	}
	if (fd >= 0) {
		if (handle >= 0)
			close(handle);
		handle = fd;
	}
	printf("periph: req %s: %s%s\n", json, line, fd >= 0 ? " +fd" : "");
}

static void wait_event(void)
{
	char line[RP_CTL_CHAN_MAX + 1];
	int fd;

	if (next_line(line, sizeof(line), &fd)) {
		printf("periph: wait-event: nothing\n");
		return;
	}
	if (fd >= 0)
		close(fd);
	printf("periph: event: %s\n", line);
}

static void call(const char *name, uint16_t op, uint32_t a, uint32_t b,
		 const uint8_t *data, uint32_t len)
{
	struct rp_ph_msg m = { .op = op, .a = a, .b = b, .len = len, .data = data }, r;
	static uint8_t buf[RP_PH_MSG_MAX];
	int rc;
	uint32_t i;

	if (handle < 0) {
		printf("periph: %s: no handle\n", name);
		return;
	}
	rc = rp_ph_call(handle, &m, &r, buf, 5000);
	if (rc) {
		printf("periph: %s: transport %s\n", name, strerror(-rc));
		return;
	}
	if (r.status) {
		printf("periph: %s: status %s\n", name, strerrorname_np(r.status));
		return;
	}
	printf("periph: %s: ok value %u data ", name, r.b);
	for (i = 0; i < r.len; i++)
		printf("%02x", r.data[i]);
	printf("\n");
}

static uint32_t num(const char *s)
{
	uint64_t v = 0;

	if (strncmp(s, "0x", 2) == 0) {
		/* hex for addresses */
		for (s += 2; *s; s++)
			v = v * 16 + (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
		return (uint32_t)v;
	}
	if (rp_parse_u64z(s, UINT32_MAX, &v))
		printf("periph: bad number %s\n", s);
	return (uint32_t)v;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1] && n < cap) {
		unsigned hi = (unsigned)(s[0] <= '9' ? s[0] - '0' : (s[0] | 0x20) - 'a' + 10);
		unsigned lo = (unsigned)(s[1] <= '9' ? s[1] - '0' : (s[1] | 0x20) - 'a' + 10);

		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

static void uart_echo(const char *text)
{
	char buf[256];
	size_t got = 0, want = strlen(text);
	struct pollfd p;

	if (handle < 0 || write(handle, text, want) != (ssize_t)want) {
		printf("periph: uart-echo: write failed: %s\n", strerror(errno));
		return;
	}
	p.fd = handle;
	p.events = POLLIN;
	while (got < want && got < sizeof(buf) - 1 && poll(&p, 1, 3000) == 1) {
		ssize_t r = read(handle, buf + got, sizeof(buf) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	printf("periph: uart-echo: got '%s'\n", buf);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	rp_ctl_lines_init(&lines);
	app_sock = connect_rampartd();
	if (app_sock < 0)
		return 1;
	printf("periph: ready\n");
	for (i = 1; i < argc && !stop; i++) {
		const char *s = argv[i];
		const char *a1 = i + 1 < argc ? argv[i + 1] : "0";
		const char *a2 = i + 2 < argc ? argv[i + 2] : "0";

		if (strcmp(s, "req") == 0 && i + 1 < argc) {
			req(argv[++i]);
		} else if (strcmp(s, "wait-event") == 0) {
			wait_event();
		} else if (strcmp(s, "gpio-get") == 0) {
			call(s, RP_PH_GPIO_GET, 0, 0, NULL, 0);
		} else if (strcmp(s, "gpio-set") == 0) {
			call(s, RP_PH_GPIO_SET, num(a1), 0, NULL, 0);
			i++;
		} else if (strcmp(s, "i2c-read") == 0 && i + 3 < argc) {
			uint8_t w[64];
			size_t n = unhex(a2, w, sizeof(w));

			call(s, RP_PH_I2C_XFER, num(a1), num(argv[i + 3]), w, (uint32_t)n);
			i += 3;
		} else if (strcmp(s, "spi-xfer") == 0 && i + 2 < argc) {
			uint8_t seg[4 + 64 + 4];
			size_t n = unhex(a1, seg + 4, 64);
			uint32_t rd = num(a2);

			seg[0] = RP_PH_SPI_WRITE;
			seg[1] = 0;
			seg[2] = (uint8_t)n;
			seg[3] = 0;
			seg[4 + n] = RP_PH_SPI_READ;
			seg[5 + n] = 0;
			seg[6 + n] = (uint8_t)rd;
			seg[7 + n] = (uint8_t)(rd >> 8);
			call(s, RP_PH_SPI_XFER, 0, 0, seg, (uint32_t)(n + 8));
			i += 2;
		} else if (strcmp(s, "pwm") == 0 && i + 5 < argc) {
			uint8_t d[16];
			int k;

			for (k = 0; k < 4; k++) {
				uint32_t v = num(argv[i + 2 + k]);

				d[4 * k] = (uint8_t)v;
				d[4 * k + 1] = (uint8_t)(v >> 8);
				d[4 * k + 2] = (uint8_t)(v >> 16);
				d[4 * k + 3] = (uint8_t)(v >> 24);
			}
			call(s, RP_PH_PWM_APPLY, num(a1), 0, d, sizeof(d));
			i += 5;
		} else if (strcmp(s, "adc-poll") == 0) {
			call(s, RP_PH_ADC_POLL, num(a1), 0, NULL, 0);
			i++;
		} else if (strcmp(s, "adc-bits") == 0) {
			call(s, RP_PH_ADC_BITS, num(a1), 0, NULL, 0);
			i++;
		} else if (strcmp(s, "adc-ref") == 0) {
			call(s, RP_PH_ADC_REF, num(a1), num(a2), NULL, 0);
			i += 2;
		} else if (strcmp(s, "reopen") == 0) {
			uint8_t d[8] = { 1, 0, 0, 0, 1, 0, 0, 0 };

			/* Widen a GPIO handle to line 7 as an output. */
			call(s, RP_PH_OPEN, RP_PH_KIND_GPIO, 7, d, sizeof(d));
		} else if (strcmp(s, "bad-op") == 0) {
			call(s, RP_PH_GPIO_GET, 0, 0, NULL, 0);
		} else if (strcmp(s, "uart-echo") == 0 && i + 1 < argc) {
			uart_echo(argv[++i]);
		} else if (strcmp(s, "devopen") == 0 && i + 1 < argc) {
			int fd = open(argv[++i], O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

			if (fd >= 0) {
				printf("periph: devopen %s: OPENED\n", argv[i]);
				close(fd);
			} else {
				printf("periph: devopen %s: %s\n", argv[i], strerrorname_np(errno));
			}
		} else if (strcmp(s, "close") == 0) {
			if (handle >= 0)
				close(handle);
			handle = -1;
			printf("periph: close: ok\n");
		} else if (strcmp(s, "sleep") == 0) {
			struct timespec ts = { (time_t)(num(a1) / 1000),
					       (long)(num(a1) % 1000) * 1000000L };

			nanosleep(&ts, NULL);
			i++;
		} else if (strcmp(s, "hold") == 0) {
			printf("periph: holding\n");
			while (!stop)
				pause();
		} else {
			printf("periph: unknown step %s\n", s);
		}
	}
	printf("periph: done\n");
	return 0;
}
