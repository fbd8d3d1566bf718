/* applibs/application.h and applications.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <applibs/application.h>
#include <applibs/applications.h>

#include "sdk_priv.h"

/* 8-4-4-4-12 hex digits. */
int rp_sdk_is_guid(const char *s)
{
	static const size_t dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return 0;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

int Application_Connect(const char *componentId)
{
	json_t *req, *reply = NULL;
	int fd = -1, rc, err;

	if (!componentId) {
		errno = EFAULT;
		return -1;
	}
	if (!rp_sdk_is_guid(componentId)) {
		errno = EINVAL;
		return -1;
	}
	req = json_pack("{s:s}", "connect", componentId);
	if (!req) {
		errno = ENOMEM;
		return -1;
	}
	rc = rp_sdk_call(req, &reply, &fd);
	err = errno;
	json_decref(req);
	if (rc < 0) {
		errno = err;
		return -1;
	}
	json_decref(reply);
	if (fd < 0) {
		errno = EPROTO;
		return -1;
	}
	return fd;
}

int rp_sdk_deviceauth_status(bool *ready, char *path, size_t cap);

int Application_IsDeviceAuthReady(bool *outIsDeviceAuthReady)
{
	if (!outIsDeviceAuthReady) {
		errno = EFAULT;
		return -1;
	}
	return rp_sdk_deviceauth_status(outIsDeviceAuthReady, NULL, 0);
}

/* The value in kB of one "Name:   123 kB" line of /proc/self/status, or
 * -1. Overflow-checked by hand: libapplibs links nothing of Rampart's. */
static long long status_kb(const char *text, const char *name)
{
	size_t nl = strlen(name);
	const char *p = text;
	unsigned long long v = 0;

	while (p && *p) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
			int digits = 0;

			p += nl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			while (*p >= '0' && *p <= '9') {
				if (v > (~0ULL >> 1) / 10 - 10)
					return -1;
				v = v * 10 + (unsigned long long)(*p++ - '0');
				digits++;
			}
			return digits ? (long long)v : -1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static size_t mem(const char *a, const char *b)
{
	char text[8192];
	ssize_t n;
	long long x, y = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		errno = EAGAIN;
		return 0;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0) {
		errno = EAGAIN;
		return 0;
	}
	text[n] = '\0';
	x = status_kb(text, a);
	if (b)
		y = status_kb(text, b);
	if (x < 0 || y < 0) {
		errno = EAGAIN;
		return 0;
	}
	return (size_t)(x + y);
}

size_t Applications_GetTotalMemoryUsageInKB(void)
{
	return mem("VmRSS", "VmPTE");
}

size_t Applications_GetUserModeMemoryUsageInKB(void)
{
	return mem("VmRSS", NULL);
}

size_t Applications_GetPeakUserModeMemoryUsageInKB(void)
{
	return mem("VmHWM", NULL);
}
