/* meson-blink: drives the GPIO given as its argument (the manifest's
 * CmdArgs) with the pattern of data/pattern.txt from its image package,
 * one step a second, forever. A test app for `rampart package build` of a
 * Meson project. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <applibs/gpio.h>
#include <applibs/log.h>
#include <applibs/storage.h>

int main(int argc, char **argv)
{
	struct timespec step = { 1, 0 };
	char pattern[32];
	ssize_t n;
	int gpio = 0, fd, led, i;

	for (i = 0; argc > 1 && argv[1][i] >= '0' && argv[1][i] <= '9' && i < 4; i++)
		gpio = gpio * 10 + (argv[1][i] - '0');
	fd = Storage_OpenFileInImagePackage("data/pattern.txt");
	if (fd < 0) {
		Log_Debug("no pattern: %s\n", strerror(errno));
		return 1;
	}
	n = read(fd, pattern, sizeof(pattern));
	close(fd);
	if (n <= 0)
		return 1;
	led = GPIO_OpenAsOutput(gpio, GPIO_OutputMode_PushPull, GPIO_Value_High);
	if (led < 0) {
		Log_Debug("GPIO %d: %s\n", gpio, strerror(errno));
		return 2;
	}
	for (i = 0;; i = (i + 1) % (int)n) {
		if (pattern[i] != '0' && pattern[i] != '1')
			continue;
		GPIO_SetValue(led, pattern[i] == '1' ? GPIO_Value_High : GPIO_Value_Low);
		nanosleep(&step, NULL);
	}
}
