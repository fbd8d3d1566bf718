/* libapplibs against real parts: rampart-sim serves the simulated board's
 * devices, and this test plays rampartd's side of the app socket (a small
 * app.sock server in a thread that opens the sim's sockets, scopes them
 * with rpph OPEN and passes the descriptors, as runtime/periph.c does).
 * PWM and ADC handles are socketpairs the harness serves itself, as
 * rampartd does for sysfs. End-to-end tests under rampartd are
 * tests/system/test_sdk*.py. */
#define SPI_STRUCTS_VERSION 1
#define UART_STRUCTS_VERSION 1
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <applibs/adc.h>
#include <applibs/application.h>
#include <applibs/applications.h>
#include <applibs/eventloop.h>
#include <applibs/gpio.h>
#include <applibs/i2c.h>
#include <applibs/log.h>
#include <applibs/networking.h>
#include <applibs/powermanagement.h>
#include <applibs/pwm.h>
#include <applibs/spi.h>
#include <applibs/storage.h>
#include <applibs/sysevent.h>
#include <applibs/uart.h>
#include <rampart/application.h>
#include <tlsutils/deviceauth.h>
#include <tlsutils/deviceauth_curl.h>

#include "base/bytes.h"
#include "periph/periph.h"

/* ---- the harness: rampart-sim and a stand-in for rampartd ---- */

static char dir[64], sock_path[96];
static pid_t sim_pid = -1;
static int listen_fd = -1;
static pthread_t server;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* What the stand-in saw and holds. */
static int sysev_conn = -1;
/* Rampart_Application_Listen's connection sends nothing: the next accepted
 * connection is kept here, unread, when want_listener is set. */
static int want_listener;
static int listener_conn = -1;
static json_t *last_req;
static uint8_t pwm_last[16];

static void sim(const char *fmt, ...)
{
	char cmd[1024], args[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s/sim/rampart-sim --dir %s %s >/dev/null",
		 getenv("RP_BUILDDIR"), dir, args);
	assert_int_equal(system(cmd), 0);
}

static int sim_out(const char *args, char *out, size_t cap)
{
	char cmd[512];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s/sim/rampart-sim --dir %s %s",
		 getenv("RP_BUILDDIR"), dir, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	return pclose(f);
}

static int ph_open(const char *dev, uint32_t kind, uint32_t line, uint32_t flags,
		   uint32_t value)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t data[8], buf[RP_PH_MSG_MAX];
	struct rp_ph_msg req = { .op = RP_PH_OPEN, .a = kind, .b = line }, rep;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, dev);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (kind == RP_PH_KIND_GPIO) {
		rp_enc32le(data, flags);
		rp_enc32le(data + 4, value);
		req.data = data;
		req.len = 8;
	}
	if (rp_ph_call(s, &req, &rep, buf, 5000) || rep.status) {
		errno = rep.status ? rep.status : EIO;
		goto fail;
	}
	return s;
fail:
	close(s);
	return -1;
}

static void send_line(int c, json_t *o, int fd)
{
	char buf[1100];
	size_t n = json_dumpb(o, buf, sizeof(buf) - 1, JSON_COMPACT);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cb;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	json_decref(o);
	buf[n++] = '\n';
	iov.iov_base = buf;
	iov.iov_len = n;
	if (fd >= 0) {
		memset(&cb, 0, sizeof(cb));
		mh.msg_control = cb.b;
		mh.msg_controllen = sizeof(cb.b);
		struct cmsghdr *c0 = CMSG_FIRSTHDR(&mh);

		c0->cmsg_level = SOL_SOCKET;
		c0->cmsg_type = SCM_RIGHTS;
		c0->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c0), &fd, sizeof(int));
	}
	(void)!sendmsg(c, &mh, MSG_NOSIGNAL);
}

static json_t *err_reply(int e, const char *msg)
{
	return json_pack("{s:i,s:s}", "code", -e, "error", msg);
}

/* Serve one rpph ADC or PWM handle (what rampartd does for sysfs). */
static void *serve_ph(void *arg)
{
	int s = (int)(intptr_t)arg;
	uint8_t in[RP_PH_MSG_MAX];

	for (;;) {
		struct rp_ph_msg m;
		ssize_t n = recv(s, in, sizeof(in), 0);

		if (n <= 0 || rp_ph_decode(in, (size_t)n, &m))
			break;
		if (rp_ph_check_request(&m)) {
			rp_ph_reply(s, m.op, EBADMSG, 0, NULL, 0);
			continue;
		}
		switch (m.op) {
		case RP_PH_ADC_POLL:
			rp_ph_reply(s, m.op, m.a < 4 ? 0 : ENODEV, 1234 + m.a, NULL, 0);
			break;
		case RP_PH_ADC_BITS:
			rp_ph_reply(s, m.op, 0, 12, NULL, 0);
			break;
		case RP_PH_ADC_REF:
			rp_ph_reply(s, m.op, m.b > 5000 ? EINVAL : 0, 0, NULL, 0);
			break;
		case RP_PH_PWM_APPLY:
			pthread_mutex_lock(&mu);
			memcpy(pwm_last, m.data, 16);
			pthread_mutex_unlock(&mu);
			rp_ph_reply(s, m.op, m.a < 2 ? 0 : ENODEV, 0, NULL, 0);
			break;
		default:
			rp_ph_reply(s, m.op, EBADF, 0, NULL, 0);
		}
	}
	close(s);
	return NULL;
}

static int served_pair(void)
{
	int sp[2];
	pthread_t t;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return -1;
	pthread_create(&t, NULL, serve_ph, (void *)(intptr_t)sp[1]);
	pthread_detach(t);
	return sp[0];
}

static void handle(int c, json_t *r)
{
	const char *cap = json_string_value(json_object_get(r, "open"));
	const char *sev = json_string_value(json_object_get(r, "sysevent"));
	json_int_t id = json_integer_value(json_object_get(r, "id"));
	int fd = -1;

	pthread_mutex_lock(&mu);
	json_decref(last_req);
	last_req = json_incref(r);
	pthread_mutex_unlock(&mu);
	if (cap && id == 99) {
		send_line(c, err_reply(EACCES, "not granted by this app's manifest"), -1);
	} else if (cap && strcmp(cap, "Gpio") == 0) {
		const char *dirn = json_string_value(json_object_get(r, "direction"));
		const char *mode = json_string_value(json_object_get(r, "output_mode"));
		uint32_t flags = 0;

		if (strcmp(dirn, "output") == 0)
			flags = RP_PH_GPIO_OUTPUT |
				(strcmp(mode, "OpenDrain") == 0 ? RP_PH_GPIO_OPEN_DRAIN : 0);
		fd = ph_open("gpiochip0", RP_PH_KIND_GPIO, (uint32_t)id, flags,
			     (uint32_t)json_integer_value(json_object_get(r, "value")));
		send_line(c, fd < 0 ? err_reply(errno, "gpio") :
			  json_pack("{s:s,s:I}", "opened", cap, "id", id), fd);
	} else if (cap && (strcmp(cap, "I2cMaster") == 0 || strcmp(cap, "SpiMaster") == 0)) {
		int i2c = cap[0] == 'I';

		fd = ph_open(i2c ? "i2c-0" : "spidev0.0", i2c ? RP_PH_KIND_I2C : RP_PH_KIND_SPI,
			     0, 0, 0);
		send_line(c, fd < 0 ? err_reply(errno, cap) :
			  json_pack("{s:s,s:I}", "opened", cap, "id", id), fd);
	} else if (cap && strcmp(cap, "Uart") == 0) {
		char p[300];

		snprintf(p, sizeof(p), "%s/uart0", dir);
		fd = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
		send_line(c, json_pack("{s:s,s:I}", "opened", cap, "id", id), fd);
	} else if (cap && (strcmp(cap, "Pwm") == 0 || strcmp(cap, "Adc") == 0)) {
		fd = served_pair();
		send_line(c, json_pack("{s:s,s:I}", "opened", cap, "id", id), fd);
	} else if (sev && strcmp(sev, "register") == 0) {
		pthread_mutex_lock(&mu);
		sysev_conn = dup(c);
		pthread_mutex_unlock(&mu);
		send_line(c, json_pack("{s:O}", "registered", json_object_get(r, "events")), -1);
	} else if (sev && strcmp(sev, "defer") == 0) {
		send_line(c, json_pack("{s:i}", "deferred_until", 1000), -1);
	} else if (sev && strcmp(sev, "resume") == 0) {
		send_line(c, json_pack("{s:b}", "resumed", 1), -1);
	} else if (json_object_get(r, "power")) {
		const char *p = json_string_value(json_object_get(r, "power"));

		if (strcmp(p, "ForcePowerDown") == 0)
			send_line(c, err_reply(EPERM, "not in PowerControls"), -1);
		else
			send_line(c, json_pack("{s:b,s:s}", "done", 0, "reason",
					       "power actions disabled by configuration"), -1);
	} else if (json_object_get(r, "deviceauth")) {
		send_line(c, json_pack("{s:b,s:s}", "ready", 0, "reason",
				       "the device has no certificate yet"), -1);
	} else if (json_object_get(r, "connect")) {
		int sp[2];

		if (strcmp(json_string_value(json_object_get(r, "connect")),
			   "11111111-2222-3333-4444-555555555555") != 0) {
			send_line(c, json_pack("{s:i,s:s}", "code", -1005, "error",
					       "not in AllowedApplicationConnections"), -1);
			return;
		}
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
		/* An offer first, as rampartd sends to the oldest connection. */
		send_line(c, json_pack("{s:s}", "incoming",
				       "99999999-2222-3333-4444-555555555555"), sp[1]);
		send_line(c, json_pack("{s:O}", "connected", json_object_get(r, "connect")),
			  sp[0]);
		(void)!send(sp[1], "hello", 5, 0);
		close(sp[0]);
		close(sp[1]);
	} else {
		send_line(c, err_reply(EINVAL, "unknown request"), -1);
	}
	if (fd >= 0)
		close(fd);
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[2048];
		size_t n = 0;
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		json_t *r;

		if (c < 0)
			return NULL;
		pthread_mutex_lock(&mu);
		if (want_listener) {
			want_listener = 0;
			listener_conn = c;
			pthread_mutex_unlock(&mu);
			continue;
		}
		pthread_mutex_unlock(&mu);
		while (n < sizeof(buf) - 1) {
			ssize_t k = recv(c, buf + n, 1, 0);

			if (k <= 0 || buf[n] == '\n')
				break;
			n++;
		}
		r = json_loadb(buf, n, 0, NULL);
		if (r)
			handle(c, r);
		json_decref(r);
		close(c);
	}
}

static int setup_all(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char sim_bin[512], line[64] = "";
	int pfd[2];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rp-applibs-%d", (int)getpid());
	snprintf(sim_bin, sizeof(sim_bin), "%s/sim/rampart-sim", getenv("RP_BUILDDIR"));
	if (pipe(pfd))
		return -1;
	sim_pid = fork();
	if (sim_pid == 0) {
		dup2(pfd[1], 1);
		execl(sim_bin, sim_bin, "serve", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "ready", 5) != 0) {
		fprintf(stderr, "rampart-sim did not start: '%s'\n", line);
		return -1;
	}
	fclose(f);
	snprintf(sock_path, sizeof(sock_path), "%s-app.sock", dir);
	unlink(sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(listen_fd, 8))
		return -1;
	pthread_create(&server, NULL, serve, NULL);
	setenv("RAMPART_APP_SOCKET", sock_path, 1);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	shutdown(listen_fd, SHUT_RDWR);
	close(listen_fd);
	pthread_join(server, NULL);
	unlink(sock_path);
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, NULL, 0);
	}
	json_decref(last_req);
	return 0;
}

/* ---- GPIO ---- */

static void test_gpio_output(void **state)
{
	GPIO_Value_Type v = 9;
	char out[64];
	int fd;

	(void)state;
	fd = GPIO_OpenAsOutput(3, GPIO_OutputMode_PushPull, GPIO_Value_High);
	assert_true(fd >= 0);
	assert_int_equal(sim_out("gpio get 3", out, sizeof(out)), 0);
	assert_int_equal(out[0], '1');
	assert_int_equal(GPIO_SetValue(fd, GPIO_Value_Low), 0);
	assert_int_equal(sim_out("gpio get 3", out, sizeof(out)), 0);
	assert_int_equal(out[0], '0');
	assert_int_equal(GPIO_GetValue(fd, &v), 0);
	assert_int_equal(v, GPIO_Value_Low);
	/* The request carried Azure's mode and value. */
	pthread_mutex_lock(&mu);
	assert_string_equal(json_string_value(json_object_get(last_req, "output_mode")),
			    "PushPull");
	pthread_mutex_unlock(&mu);
	/* A line is held by one handle at a time. */
	assert_int_equal(GPIO_OpenAsOutput(3, GPIO_OutputMode_PushPull, GPIO_Value_Low), -1);
	assert_int_equal(errno, EBUSY);
	close(fd);
}

static void test_gpio_input(void **state)
{
	GPIO_Value_Type v = 9;
	int fd;

	(void)state;
	fd = GPIO_OpenAsInput(0);
	assert_true(fd >= 0);
	assert_int_equal(GPIO_GetValue(fd, &v), 0);
	assert_int_equal(v, GPIO_Value_High); /* a released button */
	sim("gpio set 0 0");
	assert_int_equal(GPIO_GetValue(fd, &v), 0);
	assert_int_equal(v, GPIO_Value_Low);
	/* Setting an input has no effect, as on Azure Sphere. */
	assert_int_equal(GPIO_SetValue(fd, GPIO_Value_High), 0);
	assert_int_equal(GPIO_GetValue(fd, NULL), -1);
	assert_int_equal(errno, EFAULT);
	close(fd);
}

static void test_gpio_refusals(void **state)
{
	GPIO_Value_Type v;
	int p[2];

	(void)state;
	assert_int_equal(GPIO_OpenAsInput(99), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(GPIO_OpenAsOutput(4, 3, GPIO_Value_Low), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(GPIO_OpenAsOutput(4, GPIO_OutputMode_PushPull, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(GPIO_GetValue(-1, &v), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(GPIO_GetValue(p[0], &v), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(GPIO_SetValue(p[1], 5), -1);
	assert_int_equal(errno, EINVAL);
	close(p[0]);
	close(p[1]);
	/* No app socket at all. */
	setenv("RAMPART_APP_SOCKET", "/nonexistent/app.sock", 1);
	assert_int_equal(GPIO_OpenAsInput(1), -1);
	assert_int_equal(errno, ENOENT);
	setenv("RAMPART_APP_SOCKET", sock_path, 1);
}

/* ---- I2C: the sim's SCD30 at 0x61 ---- */

static uint8_t crc8(const uint8_t *d, size_t n)
{
	uint8_t c = 0xff;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		c ^= d[i];
		for (b = 0; b < 8; b++)
			c = (uint8_t)(c & 0x80 ? (c << 1) ^ 0x31 : c << 1);
	}
	return c;
}

static void test_i2c_scd30(void **state)
{
	static const uint8_t fw[] = { 0xd1, 0x00 };
	uint8_t r[3];
	int fd;

	(void)state;
	fd = I2CMaster_Open(0);
	assert_true(fd >= 0);
	assert_int_equal(I2CMaster_SetBusSpeed(fd, I2C_BUS_SPEED_STANDARD), 0);
	assert_int_equal(I2CMaster_SetTimeout(fd, 100), 0);
	assert_int_equal(I2CMaster_SetDefaultTargetAddress(fd, 0x61), 0);
	assert_int_equal(I2CMaster_Write(fd, 0x61, fw, sizeof(fw)), 2);
	assert_int_equal(I2CMaster_Read(fd, 0x61, r, sizeof(r)), 3);
	assert_int_equal(r[2], crc8(r, 2));
	assert_int_equal(I2CMaster_WriteThenRead(fd, 0x61, fw, 2, r, 3), 5);
	assert_int_equal(r[2], crc8(r, 2));
	/* Nobody answers at 0x10. */
	assert_int_equal(I2CMaster_Write(fd, 0x10, fw, 2), -1);
	assert_int_equal(errno, ENXIO);
	assert_int_equal(I2CMaster_Write(fd, 0x80, fw, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(I2CMaster_Write(fd, 0x61, NULL, 2), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(I2CMaster_Write(fd, 0x61, fw, 0), 0);
	close(fd);
}

/* ---- SPI: the sim's loopback ---- */

static void test_spi_loopback(void **state)
{
	static const uint8_t w[] = { 1, 2, 3, 4 };
	SPIMaster_Config cfg;
	SPIMaster_Transfer t[2];
	uint8_t r[6] = { 0 };
	int fd;

	(void)state;
	assert_int_equal(SPIMaster_Open(0, 0, NULL), -1);
	assert_int_equal(errno, EFAULT);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(SPIMaster_Open(0, 0, &cfg), -1); /* not initialised */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(SPIMaster_InitConfig(&cfg), 0);
	assert_int_equal(cfg.csPolarity, SPI_ChipSelectPolarity_ActiveLow);
	fd = SPIMaster_Open(0, -1 /* MT3620_SPI_CS_A */, &cfg);
	assert_true(fd >= 0);
	pthread_mutex_lock(&mu);
	assert_int_equal(json_integer_value(json_object_get(last_req, "chip_select")), 0);
	pthread_mutex_unlock(&mu);
	assert_int_equal(SPIMaster_SetBusSpeed(fd, 400000), 0);
	assert_int_equal(SPIMaster_SetMode(fd, SPI_Mode_3), 0);
	assert_int_equal(SPIMaster_SetMode(fd, SPI_Mode_Invalid), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(SPIMaster_SetBitOrder(fd, SPI_BitOrder_MsbFirst), 0);
	assert_int_equal(SPIMaster_WriteThenRead(fd, w, 4, r, 6), 10);
	assert_memory_equal(r, w, 4);
	assert_int_equal(r[4], 0);
	assert_int_equal(r[5], 0);
	/* Transfers must come from SPIMaster_InitTransfers and be one-way. */
	memset(t, 0, sizeof(t));
	t[0].flags = SPI_TransferFlags_Write;
	t[0].writeData = w;
	t[0].length = 4;
	assert_int_equal(SPIMaster_TransferSequential(fd, t, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(SPIMaster_InitTransfers(t, 2), 0);
	t[0].flags = SPI_TransferFlags_Read | SPI_TransferFlags_Write;
	t[0].length = 1;
	assert_int_equal(SPIMaster_TransferSequential(fd, t, 1), -1);
	assert_int_equal(errno, EINVAL);
	t[0].flags = SPI_TransferFlags_Write;
	t[0].writeData = w + 2;
	t[0].length = 2;
	t[1].flags = SPI_TransferFlags_Read;
	t[1].readData = r;
	t[1].length = 2;
	assert_int_equal(SPIMaster_TransferSequential(fd, t, 2), 4);
	assert_int_equal(r[0], 3);
	assert_int_equal(r[1], 4);
	close(fd);
}

/* ---- UART: the sim echoes uart0 ---- */

static void test_uart_echo(void **state)
{
	UART_Config cfg;
	char buf[16];
	size_t got = 0;
	int fd, tries;

	(void)state;
	UART_InitConfig(&cfg);
	assert_int_equal(cfg.baudRate, 115200);
	assert_int_equal(cfg.dataBits, UART_DataBits_Eight);
	cfg.baudRate = 12345;
	assert_int_equal(UART_Open(0, &cfg), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(UART_Open(0, NULL), -1);
	assert_int_equal(errno, EFAULT);
	UART_InitConfig(&cfg);
	cfg.baudRate = 9600;
	cfg.parity = UART_Parity_Even;
	fd = UART_Open(0, &cfg);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(write(fd, "ping", 4), 4);
	for (tries = 0; tries < 100 && got < 4; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		poll(&p, 1, 50);
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, 4);
	assert_memory_equal(buf, "ping", 4);
	close(fd);
}

/* ---- PWM and ADC (rpph served by the harness) ---- */

static void test_pwm_adc(void **state)
{
	PwmState st = { .period_nsec = 1000000, .dutyCycle_nsec = 250000,
			.polarity = PWM_Polarity_Inversed, .enabled = true };
	uint32_t sample = 0;
	int p, a;

	(void)state;
	p = PWM_Open(0);
	assert_true(p >= 0);
	assert_int_equal(PWM_Apply(p, 1, &st), 0);
	pthread_mutex_lock(&mu);
	assert_int_equal(rp_dec32le(pwm_last), 1000000);
	assert_int_equal(rp_dec32le(pwm_last + 4), 250000);
	assert_int_equal(rp_dec32le(pwm_last + 8), 1);
	assert_int_equal(rp_dec32le(pwm_last + 12), 1);
	pthread_mutex_unlock(&mu);
	assert_int_equal(PWM_Apply(p, 5, &st), -1);
	assert_int_equal(errno, ENODEV);
	st.dutyCycle_nsec = st.period_nsec + 1;
	assert_int_equal(PWM_Apply(p, 0, &st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(PWM_Apply(p, 0, NULL), -1);
	assert_int_equal(errno, EINVAL);
	close(p);

	a = ADC_Open(0);
	assert_true(a >= 0);
	assert_int_equal(ADC_GetSampleBitCount(a, 0), 12);
	assert_int_equal(ADC_SetReferenceVoltage(a, 0, 2.5f), 0);
	assert_int_equal(ADC_SetReferenceVoltage(a, 0, -1.0f), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ADC_Poll(a, 1, &sample), 0);
	assert_int_equal(sample, 1235);
	assert_int_equal(ADC_Poll(a, 1, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(PWM_Apply(a, 0, &st), -1); /* an ADC handle: EBADF from rpph */
	close(a);
}

/* ---- EventLoop ---- */

struct evctx {
	int calls;
	EventLoop *el;
	EventRegistration *reg;
	int unregister_self, stop;
};

static void on_io(EventLoop *el, int fd, EventLoop_IoEvents ev, void *ctx)
{
	struct evctx *c = ctx;
	char b[8];

	(void)fd;
	c->calls++;
	if (ev & EventLoop_Input)
		(void)!read(fd, b, sizeof(b));
	if (c->unregister_self)
		EventLoop_UnregisterIo(el, c->reg);
	if (c->stop)
		EventLoop_Stop(el);
	/* Runs may not nest. */
	assert_int_equal(EventLoop_Run(el, 0, false), EventLoop_Run_Failed);
	assert_int_equal(errno, EBUSY);
}

static void test_eventloop(void **state)
{
	EventLoop *el = EventLoop_Create();
	struct evctx c = { 0 };
	struct pollfd pw;
	int p[2];

	(void)state;
	assert_non_null(el);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(EventLoop_Run(NULL, 0, false), EventLoop_Run_Failed);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(EventLoop_Run(el, 0, false), EventLoop_Run_FinishedEmpty);
	assert_int_equal(EventLoop_Run(el, 30, false), EventLoop_Run_FinishedEmpty);
	assert_null(EventLoop_RegisterIo(el, p[0], 0x100, on_io, &c));
	assert_int_equal(errno, EINVAL);
	assert_null(EventLoop_RegisterIo(el, 12345, EventLoop_Input, on_io, &c));
	assert_int_equal(errno, EBADF);
	c.reg = EventLoop_RegisterIo(el, p[0], EventLoop_Input, on_io, &c);
	assert_non_null(c.reg);
	assert_null(EventLoop_RegisterIo(el, p[0], EventLoop_Input, on_io, &c));
	assert_int_equal(errno, EEXIST);
	/* The wait descriptor polls readable when there is work. */
	pw.fd = EventLoop_GetWaitDescriptor(el);
	pw.events = POLLIN;
	assert_int_equal(poll(&pw, 1, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(poll(&pw, 1, 0), 1);
	assert_int_equal(EventLoop_Run(el, -1, true), EventLoop_Run_Finished);
	assert_int_equal(c.calls, 1);
	/* Stop from a callback ends an endless run. */
	c.stop = 1;
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(EventLoop_Run(el, -1, false), EventLoop_Run_Finished);
	assert_int_equal(c.calls, 2);
	/* A callback may unregister itself. */
	c.stop = 0;
	c.unregister_self = 1;
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(EventLoop_Run(el, 50, false), EventLoop_Run_Finished);
	assert_int_equal(c.calls, 3);
	assert_int_equal(write(p[1], "w", 1), 1);
	assert_int_equal(EventLoop_Run(el, 30, false), EventLoop_Run_FinishedEmpty);
	assert_int_equal(EventLoop_UnregisterIo(el, NULL), 0);
	/* Output, then modify to nothing. */
	c.unregister_self = 0;
	c.reg = EventLoop_RegisterIo(el, p[1], EventLoop_Output, on_io, &c);
	assert_non_null(c.reg);
	assert_int_equal(EventLoop_Run(el, 0, false), EventLoop_Run_Finished);
	assert_int_equal(EventLoop_ModifyIoEvents(el, c.reg, EventLoop_None), 0);
	assert_int_equal(EventLoop_ModifyIoEvents(el, c.reg, 0x40), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(EventLoop_Run(el, 20, false), EventLoop_Run_FinishedEmpty);
	/* EventLoop_Close releases what is still registered. */
	EventLoop_Close(el);
	close(p[0]);
	close(p[1]);
}

static void *stopper(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	EventLoop_Stop(arg);
	return NULL;
}

static void test_eventloop_stop_thread(void **state)
{
	EventLoop *el = EventLoop_Create();
	pthread_t t;

	(void)state;
	pthread_create(&t, NULL, stopper, el);
	assert_int_equal(EventLoop_Run(el, -1, false), EventLoop_Run_FinishedEmpty);
	pthread_join(t, NULL);
	EventLoop_Close(el);
}

/* ---- SysEvent ---- */

struct sectx {
	int calls;
	SysEvent_Events ev;
	SysEvent_Status st;
	SysEvent_Info_UpdateData data;
	int data_rc;
};

static void on_sysevent(SysEvent_Events event, SysEvent_Status state,
			const SysEvent_Info *info, void *context)
{
	struct sectx *c = context;

	c->calls++;
	c->ev = event;
	c->st = state;
	c->data_rc = SysEvent_Info_GetUpdateData(info, &c->data);
}

static void test_sysevent(void **state)
{
	EventLoop *el = EventLoop_Create();
	struct sectx c = { 0 };
	EventRegistration *reg;
	int conn;

	(void)state;
	assert_null(SysEvent_RegisterForEventNotifications(el, 0x10, on_sysevent, &c));
	assert_int_equal(errno, EINVAL);
	assert_null(SysEvent_RegisterForEventNotifications(NULL, SysEvent_Events_Mask,
							   on_sysevent, &c));
	assert_int_equal(errno, EFAULT);
	reg = SysEvent_RegisterForEventNotifications(el, SysEvent_Events_UpdateReadyForInstall,
						     on_sysevent, &c);
	assert_non_null(reg);
	pthread_mutex_lock(&mu);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(last_req, "events"), 0)),
			    "UpdateReadyForInstall");
	conn = sysev_conn;
	sysev_conn = -1;
	pthread_mutex_unlock(&mu);
	assert_true(conn >= 0);
	/* rampartd's notice, then one this app did not ask for. */
	send_line(conn, json_pack("{s:s,s:s,s:i}", "event", "UpdateReadyForInstall",
				  "component_id", "11111111-2222-3333-4444-555555555555",
				  "max_deferral_minutes", 1440), -1);
	send_line(conn, json_pack("{s:s}", "event", "NoUpdateAvailable"), -1);
	assert_int_equal(EventLoop_Run(el, 1000, true), EventLoop_Run_Finished);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.ev, SysEvent_Events_UpdateReadyForInstall);
	assert_int_equal(c.st, SysEvent_Status_Pending);
	assert_int_equal(c.data_rc, 0);
	assert_int_equal(c.data.max_deferral_time_in_minutes, 1440);
	assert_int_equal(c.data.update_type, SysEvent_UpdateType_App);
	assert_int_equal(SysEvent_DeferEvent(SysEvent_Events_UpdateReadyForInstall, 5000), 0);
	pthread_mutex_lock(&mu);
	assert_int_equal(json_integer_value(json_object_get(last_req, "minutes")), 1440);
	pthread_mutex_unlock(&mu);
	assert_int_equal(SysEvent_DeferEvent(SysEvent_Events_Mask, 5), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(SysEvent_ResumeEvent(SysEvent_Events_UpdateReadyForInstall), 0);
	/* rampartd going away stops the watching, not the loop. */
	close(conn);
	assert_int_equal(EventLoop_Run(el, 50, false), EventLoop_Run_Finished);
	assert_int_equal(EventLoop_Run(el, 30, false), EventLoop_Run_FinishedEmpty);
	assert_int_equal(c.calls, 1);
	assert_int_equal(SysEvent_UnregisterForEventNotifications(reg), 0);
	assert_int_equal(SysEvent_UnregisterForEventNotifications(NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(SysEvent_Info_GetUpdateData(NULL, &c.data), -1);
	assert_int_equal(errno, EFAULT);
	EventLoop_Close(el);
}

/* ---- Rampart_Application_Listen / _Accept ---- */

#define ASKER "99999999-2222-3333-4444-555555555555"

/* Open the listening connection; returns the server's end of it. */
static int listen_open(int *lfd)
{
	int i, c = -1;

	pthread_mutex_lock(&mu);
	want_listener = 1;
	pthread_mutex_unlock(&mu);
	*lfd = Rampart_Application_Listen();
	for (i = 0; i < 200 && c < 0; i++) {
		pthread_mutex_lock(&mu);
		c = listener_conn;
		listener_conn = -1;
		pthread_mutex_unlock(&mu);
		if (c < 0)
			usleep(10000);
	}
	return c;
}

static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 2000), 1);
}

static void test_listen_accept(void **state)
{
	char id[RAMPART_COMPONENT_ID_SIZE], buf[8];
	EventRegistration *reg;
	struct sectx sc = { 0 };
	EventLoop *el = EventLoop_Create();
	int lfd, conn, sp[2], pp[2], ch;

	(void)state;
	conn = listen_open(&lfd);
	assert_true(lfd >= 0);
	assert_true(conn >= 0);
	/* Once: the same connection again. */
	assert_int_equal(Rampart_Application_Listen(), lfd);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(Rampart_Application_Accept(lfd + 100, id), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(Rampart_Application_Accept(lfd, NULL), -1);
	assert_int_equal(errno, EFAULT);

	/* An offer with its descriptor, then one more buffered behind a line
	 * that is not an offer (skipped). */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	send_line(conn, json_pack("{s:s}", "incoming", ASKER), sp[1]);
	send_line(conn, json_pack("{s:s}", "event", "SomethingNewer"), -1);
	send_line(conn, json_pack("{s:s}", "incoming", ASKER), sp[1]);
	close(sp[1]);
	wait_readable(lfd);
	memset(id, 'x', sizeof(id));
	ch = Rampart_Application_Accept(lfd, id);
	assert_true(ch >= 0);
	assert_string_equal(id, ASKER);
	assert_true(fcntl(ch, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(send(sp[0], "hi", 2, 0), 2);
	assert_int_equal(recv(ch, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "hi", 2);
	close(ch);
	ch = Rampart_Application_Accept(lfd, id);
	assert_true(ch >= 0);
	close(ch);
	close(sp[0]);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EAGAIN);

	/* A malformed line, an offer without a descriptor, one whose
	 * ComponentId is not one, one whose descriptor is not a channel:
	 * each EPROTO, skipped. */
	assert_int_equal(write(conn, "{not json\n", 10), 10);
	wait_readable(lfd);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EPROTO);
	send_line(conn, json_pack("{s:s}", "incoming", ASKER), -1);
	wait_readable(lfd);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(pipe(pp), 0);
	send_line(conn, json_pack("{s:s}", "incoming", "not-a-guid"), pp[0]);
	wait_readable(lfd);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EPROTO);
	send_line(conn, json_pack("{s:s}", "incoming", ASKER), pp[0]);
	wait_readable(lfd);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EPROTO);
	close(pp[0]);
	/* The SDK closed the descriptors it refused: the writer sees EPIPE. */
	assert_int_equal(write(pp[1], "x", 1), -1);
	close(pp[1]);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, EAGAIN);

	/* rampartd closes it: ECONNRESET, and again. */
	close(conn);
	wait_readable(lfd);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(Rampart_Application_Accept(lfd, id), -1);
	assert_int_equal(errno, ECONNRESET);

	/* A SysEvent connection older than the listener would get the
	 * offers: Listen refuses while one is open. */
	reg = SysEvent_RegisterForEventNotifications(el, SysEvent_Events_UpdateReadyForInstall,
						     on_sysevent, &sc);
	assert_non_null(reg);
	pthread_mutex_lock(&mu);
	if (sysev_conn >= 0)
		close(sysev_conn);
	sysev_conn = -1;
	pthread_mutex_unlock(&mu);
	assert_int_equal(Rampart_Application_Listen(), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(SysEvent_UnregisterForEventNotifications(reg), 0);

	/* Listen first, then SysEvent: a new listening connection works. */
	conn = listen_open(&lfd);
	assert_true(lfd >= 0);
	assert_true(conn >= 0);
	reg = SysEvent_RegisterForEventNotifications(el, SysEvent_Events_UpdateReadyForInstall,
						     on_sysevent, &sc);
	assert_non_null(reg);
	assert_int_equal(Rampart_Application_Listen(), lfd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	send_line(conn, json_pack("{s:s}", "incoming", ASKER), sp[1]);
	close(sp[1]);
	wait_readable(lfd);
	ch = Rampart_Application_Accept(lfd, id);
	assert_true(ch >= 0);
	assert_string_equal(id, ASKER);
	close(ch);
	close(sp[0]);
	assert_int_equal(SysEvent_UnregisterForEventNotifications(reg), 0);
	pthread_mutex_lock(&mu);
	if (sysev_conn >= 0)
		close(sysev_conn);
	sysev_conn = -1;
	pthread_mutex_unlock(&mu);
	close(conn);
	EventLoop_Close(el);
}

/* ---- Application, power, device auth, memory, networking, log ---- */

static void test_application(void **state)
{
	char buf[16];
	bool ready = true;
	int fd;

	(void)state;
	assert_int_equal(Application_Connect(NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(Application_Connect("not-a-guid"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(Application_Connect("21111111-2222-3333-4444-555555555555"), -1);
	assert_int_equal(errno, EACCES);
	/* The offer that comes first is not the reply. */
	fd = Application_Connect("11111111-2222-3333-4444-555555555555");
	assert_true(fd >= 0);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	close(fd);
	assert_int_equal(Application_IsDeviceAuthReady(NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(Application_IsDeviceAuthReady(&ready), 0);
	assert_false(ready);
	assert_null(DeviceAuth_GetCertificatePath());
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(DeviceAuth_SslCtxFunc(&ready), DeviceAuthSslResult_GetTenantCertificateError);
	assert_int_equal(DeviceAuth_CurlSslFunc(NULL, &ready, NULL), CURLE_SSL_CERTPROBLEM);
}

static void test_power(void **state)
{
	(void)state;
	/* "done": false (actions disabled) is still a success. */
	assert_int_equal(PowerManagement_ForceSystemReboot(), 0);
	assert_int_equal(PowerManagement_SetSystemPowerProfile(PowerManagement_Balanced), 0);
	pthread_mutex_lock(&mu);
	assert_string_equal(json_string_value(json_object_get(last_req, "profile")), "Balanced");
	pthread_mutex_unlock(&mu);
	assert_int_equal(PowerManagement_SetSystemPowerProfile(7), -1);
	assert_int_equal(errno, EINVAL);
	/* rampartd's EPERM is Azure's EACCES. */
	assert_int_equal(PowerManagement_ForceSystemPowerDown(10), -1);
	assert_int_equal(errno, EACCES);
}

static void test_misc(void **state)
{
	Networking_NetworkInterface ifs[4];
	bool b;
	ssize_t n;

	(void)state;
	assert_true(Applications_GetTotalMemoryUsageInKB() >=
		    Applications_GetUserModeMemoryUsageInKB());
	assert_true(Applications_GetUserModeMemoryUsageInKB() > 0);
	assert_true(Applications_GetPeakUserModeMemoryUsageInKB() >=
		    Applications_GetUserModeMemoryUsageInKB());
	assert_int_equal(Networking_IsNetworkingReady(NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(Networking_IsNetworkingReady(&b), 0);
	n = Networking_GetInterfaceCount();
	assert_true(n >= 0);
	assert_int_equal(Networking_GetInterfaces(ifs, 0), -1);
	assert_int_equal(errno, ERANGE);
	assert_true(Networking_GetInterfaces(ifs, 4) >= 0);
	assert_int_equal(Networking_GetInterfaceConnectionStatus("no-such-if0", (void *)&n), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(Networking_SetInterfaceState("eth0", false), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(Log_Debug("applibs test: %d\n", 42), 0);
}

/* ---- Storage ---- */

static void test_storage(void **state)
{
	char d[300], buf[8];
	char *p;
	int fd;

	(void)state;
	snprintf(d, sizeof(d), "%s-storage", dir);
	setenv("RAMPART_STORAGE_DIR", d, 1);
	/* No storage directory: the manifest has no MutableStorage. */
	assert_int_equal(Storage_OpenMutableFile(), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(Storage_DeleteMutableFile(), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(Storage_DeleteMutableFile(), -1);
	assert_int_equal(errno, ENOENT);
	fd = Storage_OpenMutableFile();
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	fd = Storage_OpenMutableFile();
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	close(fd);
	assert_int_equal(Storage_DeleteMutableFile(), 0);
	assert_int_equal(rmdir(d), 0);
	unsetenv("RAMPART_STORAGE_DIR");

	/* The image package is at / in a compartment. */
	p = Storage_GetAbsolutePathInImagePackage("certs/ca.pem");
	assert_string_equal(p, "/certs/ca.pem");
	free(p);
	assert_null(Storage_GetAbsolutePathInImagePackage("/etc/passwd"));
	assert_int_equal(errno, EINVAL);
	assert_null(Storage_GetAbsolutePathInImagePackage("./x"));
	assert_int_equal(errno, EINVAL);
	assert_null(Storage_GetAbsolutePathInImagePackage("a/../../etc"));
	assert_int_equal(errno, EINVAL);
	assert_null(Storage_GetAbsolutePathInImagePackage(NULL));
	assert_int_equal(errno, EFAULT);
	setenv("RAMPART_PACKAGE_ROOT", "/etc", 1);
	fd = Storage_OpenFileInImagePackage("hostname");
	if (access("/etc/hostname", R_OK) == 0)
		assert_true(fd >= 0);
	if (fd >= 0)
		close(fd);
	assert_int_equal(Storage_OpenFileInImagePackage("ssl"), -1); /* a directory */
	unsetenv("RAMPART_PACKAGE_ROOT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpio_output),
		cmocka_unit_test(test_gpio_input),
		cmocka_unit_test(test_gpio_refusals),
		cmocka_unit_test(test_i2c_scd30),
		cmocka_unit_test(test_spi_loopback),
		cmocka_unit_test(test_uart_echo),
		cmocka_unit_test(test_pwm_adc),
		cmocka_unit_test(test_eventloop),
		cmocka_unit_test(test_eventloop_stop_thread),
		cmocka_unit_test(test_sysevent),
		cmocka_unit_test(test_application),
		cmocka_unit_test(test_listen_accept),
		cmocka_unit_test(test_power),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_storage),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
