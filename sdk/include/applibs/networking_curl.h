/* applibs/networking_curl.h: apply the device's default proxy to a curl
 * handle (Azure Sphere compatible). Rampart devices have no app proxy
 * setting: the call checks its argument and succeeds without touching the
 * handle. */
#pragma once

#include <errno.h>
#include <stddef.h>

#include <curl/curl.h>

#include <applibs/networking.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 0, or -1 with errno EFAULT when curlHandle is NULL. */
static inline int Networking_Curl_SetDefaultProxy(CURL *curlHandle)
{
	if (curlHandle == NULL) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

#ifdef __cplusplus
}
#endif
