/* grantprobe: a test app for tests/system/test_samples.py. Each argument
 * pair is one attempt through the applibs SDK (or plain libc, for what an
 * app must not be able to reach at all); each prints one line
 *     grantprobe: <action> <arg>: ok
 *     grantprobe: <action> <arg>: <ERRNO NAME> (<message>)
 * then the app stays up until SIGTERM, so the test can check it survived.
 *
 *   gpio-out N     GPIO_OpenAsOutput(N)
 *   gpio-in N      GPIO_OpenAsInput(N)
 *   i2c N          I2CMaster_Open(N)
 *   uart N         UART_Open(N)
 *   open PATH      open(PATH, O_RDWR) (a device path the app must not see)
 *   fill KB        write up to KB KiB to Storage_OpenMutableFile()
 *   connect ID     Application_Connect(ID) */
#define UART_STRUCTS_VERSION 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <applibs/application.h>
#include <applibs/gpio.h>
#include <applibs/i2c.h>
#include <applibs/storage.h>
#include <applibs/uart.h>

#include "../../samples/common/args.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void report(const char *action, const char *arg, int rc, int err)
{
	if (rc >= 0)
		printf("grantprobe: %s %s: ok\n", action, arg);
	else
		printf("grantprobe: %s %s: %s (%s)\n", action, arg, strerrorname_np(err),
		       strerror(err));
}

/* Write kb KiB (or until the first error) through the storage API. */
static int fill(unsigned int kb, int *err)
{
	static char block[1024];
	unsigned int i;
	int fd = Storage_OpenMutableFile();

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	memset(block, 'x', sizeof(block));
	for (i = 0; i < kb; i++) {
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
			*err = errno;
			printf("grantprobe: fill: stopped after %u KiB\n", i);
			close(fd);
			return -1;
		}
	}
	if (fsync(fd) != 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);

	for (i = 1; i + 1 < argc; i += 2) {
		const char *action = argv[i], *arg = argv[i + 1];
		unsigned int n = 0;
		int rc = -1, err = EINVAL;

		if (strcmp(action, "open") == 0) {
			rc = open(arg, O_RDWR | O_CLOEXEC);
			err = errno;
			report(action, arg, rc, err);
			continue;
		}
		if (strcmp(action, "connect") == 0) {
			rc = Application_Connect(arg);
			err = errno;
			report(action, arg, rc, err);
			continue;
		}
		if (sample_parse_uint(arg, 0, 1u << 20, &n) != 0) {
			report(action, arg, -1, EINVAL);
			continue;
		}
		errno = 0;
		if (strcmp(action, "gpio-out") == 0) {
			rc = GPIO_OpenAsOutput((GPIO_Id)n, GPIO_OutputMode_PushPull, GPIO_Value_Low);
		} else if (strcmp(action, "gpio-in") == 0) {
			rc = GPIO_OpenAsInput((GPIO_Id)n);
		} else if (strcmp(action, "i2c") == 0) {
			rc = I2CMaster_Open((I2C_InterfaceId)n);
		} else if (strcmp(action, "uart") == 0) {
			UART_Config config;

			UART_InitConfig(&config);
			config.baudRate = 115200;
			rc = UART_Open((UART_Id)n, &config);
		} else if (strcmp(action, "fill") == 0) {
			rc = fill(n, &err);
			report(action, arg, rc, err);
			continue;
		} else {
			errno = EINVAL;
		}
		err = errno;
		report(action, arg, rc, err);
	}
	printf("grantprobe: done\n");
	while (!stop)
		pause();
	return 0;
}
