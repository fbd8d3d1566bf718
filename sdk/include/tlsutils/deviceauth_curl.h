/* tlsutils/deviceauth_curl.h: mutual TLS with the device certificate from
 * libcurl (Azure Sphere compatible). */
#pragma once

#include <stdint.h>

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum DeviceAuthSslResult {
	DeviceAuthSslResult_Success = 0,
	DeviceAuthSslResult_GetTenantIdError = 1,          /* no tenant for this app */
	DeviceAuthSslResult_GetTenantCertificateError = 2, /* no certificate (yet) */
	DeviceAuthSslResult_EnableHwSignError = 3,         /* the key cannot sign */
} DeviceAuthSslResult;

/* Set up sslctx (an OpenSSL SSL_CTX from CURLOPT_SSL_CTX_FUNCTION) for
 * mutual authentication. Rampart: returns
 * DeviceAuthSslResult_GetTenantCertificateError until the device has a
 * certificate. */
DeviceAuthSslResult DeviceAuth_SslCtxFunc(void *sslctx);

/* A CURLOPT_SSL_CTX_FUNCTION callback: CURLE_OK, or CURLE_SSL_CERTPROBLEM. */
static inline CURLcode DeviceAuth_CurlSslFunc(CURL *curl, void *sslctx, void *userCtx)
{
	(void)curl;
	(void)userCtx;
	return DeviceAuth_SslCtxFunc(sslctx) == DeviceAuthSslResult_Success
		       ? CURLE_OK
		       : CURLE_SSL_CERTPROBLEM;
}

#ifdef __cplusplus
}
#endif
