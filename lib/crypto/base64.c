#include "crypto/base64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <limits.h>

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int rp_base64_decode(const char *s, size_t len, size_t cap, struct rp_buf *out,
		     struct rp_err *e)
{
	uint8_t *tmp = NULL;
	size_t i, pad = 0, n;
	int got, rc;

	rp_buf_init(out, cap);
	if (len == 0 || len % 4 != 0)
		return rp_err_set(e, RP_EFORMAT, "base64: length %zu is not a "
				  "positive multiple of 4", len);
	if (len > INT_MAX || len / 4 * 3 > cap + 2)
		return rp_err_set(e, RP_ERANGE, "base64: over %zu bytes", cap);
	/* EVP_DecodeBlock skips whitespace and is loose about padding:
	 * check the alphabet strictly first. */
	if (s[len - 1] == '=')
		pad++;
	if (pad && s[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!b64_char(s[i]))
			return rp_err_set(e, RP_EFORMAT, "base64: bad character at "
					  "offset %zu", i);
	n = len / 4 * 3;
	if (n - pad > cap)
		return rp_err_set(e, RP_ERANGE, "base64: over %zu bytes", cap);
	tmp = OPENSSL_malloc(n);
	if (!tmp)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (got < 0 || (size_t)got != n)
		rc = rp_err_set(e, RP_EFORMAT, "base64: not valid");
	else if ((rc = rp_buf_append(out, tmp, n - pad)))
		rp_err_set(e, rc, "out of memory");
	OPENSSL_free(tmp);
	if (rc)
		rp_buf_free(out);
	return rc;
}
