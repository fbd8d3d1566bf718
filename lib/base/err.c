#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rp_err_clear(struct rp_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

static void vset(struct rp_err *e, int code, const char *fmt, va_list ap) RP_PRINTF(3, 0);

static void vset(struct rp_err *e, int code, const char *fmt, va_list ap)
{
	e->code = code;
	/* vsnprintf truncates safely; the message is advisory text. */
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int rp_err_set(struct rp_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int rp_err_errno(struct rp_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int code = errnum > 0 ? -errnum : RP_EIO;

	if (!e)
		return code;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (n < sizeof(e->msg))
		(void)snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
			       strerror(errnum));
	return code;
}

int rp_err_prefix(struct rp_err *e, const char *fmt, ...)
{
	char old[RP_ERR_MSG_MAX];
	size_t n, oldlen;
	va_list ap;
	int w;

	if (!e)
		return RP_EINVAL;
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	oldlen = strlen(old);
	va_start(ap, fmt);
	w = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w;
	if (n > sizeof(e->msg) - 1)
		n = sizeof(e->msg) - 1;
	/* Append ": " and the old message, truncating at the end. */
	if (n + 2 < sizeof(e->msg)) {
		e->msg[n++] = ':';
		e->msg[n++] = ' ';
		if (oldlen > sizeof(e->msg) - 1 - n)
			oldlen = sizeof(e->msg) - 1 - n;
		memcpy(e->msg + n, old, oldlen);
		n += oldlen;
	}
	e->msg[n] = '\0';
	return e->code;
}

const char *rp_show(const char *s, char out[RP_SHOW_BUF])
{
	size_t i;

	for (i = 0; s[i] && i < RP_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ?
			 '?' : (char)c;
	}
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

const char *rp_code_name(int code)
{
	switch (code) {
	case 0: return "success";
	case RP_EFORMAT: return "format error";
	case RP_EVERIFY: return "verification failed";
	case RP_EUNTRUSTED: return "untrusted signer";
	case RP_ECRYPTO: return "crypto error";
	case RP_EPOLICY: return "not allowed";
	case RP_EUSAGE: return "usage error";
	default: break;
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
