/* applibs/log.h: messages go to stderr, which rampartd keeps in the app's
 * log ring. One write per message so that lines from threads do not mix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <applibs/log.h>

int Log_DebugVarArgs(const char *fmt, va_list args)
{
	char buf[4096];
	int n;
	size_t len, off = 0;

	if (!fmt) {
		errno = EFAULT;
		return -1;
	}
	n = vsnprintf(buf, sizeof(buf), fmt, args);
	if (n < 0)
		return -1;
	len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	while (off < len) {
		ssize_t w = write(STDERR_FILENO, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int Log_Debug(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = Log_DebugVarArgs(fmt, ap);
	va_end(ap);
	return rc;
}
