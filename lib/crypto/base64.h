/* Base64 (RFC 4648, standard alphabet, padded, no line breaks): OpenSSL's
 * EVP_EncodeBlock/EVP_DecodeBlock behind rp_ names. */
#ifndef RP_CRYPTO_BASE64_H
#define RP_CRYPTO_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Decode len characters of untrusted text (a multiple of 4, padding only
 * at the end, no whitespace) into at most cap bytes. out is initialised
 * here (rp_buf_free). RP_EFORMAT for anything else; RP_ERANGE over cap. */
int rp_base64_decode(const char *s, size_t len, size_t cap, struct rp_buf *out,
		     struct rp_err *e) RP_WUR;

#endif
