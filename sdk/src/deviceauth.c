/* tlsutils/deviceauth.h and deviceauth_curl.h, and the status behind
 * Application_IsDeviceAuthReady: {"deviceauth":"status"} on the app
 * socket. Until the device has a certificate (issue 5), rampartd answers
 * {"ready":false,"reason":...}. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <tlsutils/deviceauth.h>
#include <tlsutils/deviceauth_curl.h>

#include "sdk_priv.h"

int rp_sdk_deviceauth_status(bool *ready, char *path, size_t cap);

/* Ask rampartd. *ready, and the certificate path into path (when given and
 * the reply has one). 0 or -1 with errno. */
int rp_sdk_deviceauth_status(bool *ready, char *path, size_t cap)
{
	json_t *req = json_pack("{s:s}", "deviceauth", "status"), *reply = NULL, *v;
	int err;

	if (!req) {
		errno = ENOMEM;
		return -1;
	}
	if (rp_sdk_call(req, &reply, NULL) < 0) {
		err = errno;
		json_decref(req);
		errno = err == EPERM ? EACCES : err;
		return -1;
	}
	json_decref(req);
	v = json_object_get(reply, "ready");
	if (!json_is_boolean(v)) {
		json_decref(reply);
		errno = EPROTO;
		return -1;
	}
	*ready = json_is_true(v);
	if (path && cap) {
		const char *p = json_string_value(json_object_get(reply, "certificate_path"));

		path[0] = '\0';
		if (p && *p == '/' && strlen(p) < cap)
			memcpy(path, p, strlen(p) + 1);
	}
	json_decref(reply);
	return 0;
}

static char cert_path[4096];
static pthread_mutex_t cert_lock = PTHREAD_MUTEX_INITIALIZER;

const char *DeviceAuth_GetCertificatePath(void)
{
	char p[sizeof(cert_path)];
	bool ready = false;

	if (rp_sdk_deviceauth_status(&ready, p, sizeof(p)) < 0)
		return NULL;
	if (!ready || !p[0]) {
		errno = EAGAIN;
		return NULL;
	}
	/* The path stays valid while the app runs (Azure's contract): one
	 * buffer, rewritten only with the same or a newer answer. */
	pthread_mutex_lock(&cert_lock);
	memcpy(cert_path, p, strlen(p) + 1);
	pthread_mutex_unlock(&cert_lock);
	return cert_path;
}

DeviceAuthSslResult DeviceAuth_SslCtxFunc(void *sslctx)
{
	bool ready = false;

	if (!sslctx)
		return DeviceAuthSslResult_GetTenantCertificateError;
	if (rp_sdk_deviceauth_status(&ready, NULL, 0) < 0)
		return errno == EACCES ? DeviceAuthSslResult_GetTenantIdError
				       : DeviceAuthSslResult_GetTenantCertificateError;
	/* The device key never leaves rampartd; signing on the app's behalf
	 * comes with the certificates of issue 5. Until then there is
	 * nothing to set up. */
	return DeviceAuthSslResult_GetTenantCertificateError;
}
