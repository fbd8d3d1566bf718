/* applibs/application.h: channels to partner apps and device
 * authentication status (Azure Sphere compatible).
 *
 * Rampart has no real-time cores: a partner is another high-level app on
 * the same device. Both manifests must list each other's ComponentId in
 * AllowedApplicationConnections. */
#pragma once

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A connected SOCK_SEQPACKET socket to the running app componentId
 * ("01234567-89ab-cdef-0123-456789abcdef"): use send() and recv(), one
 * message each. -1 with errno: EFAULT (NULL), EINVAL (not a component id),
 * EACCES (either manifest does not allow it), ENOENT (no such app),
 * ECONNREFUSED (it is not running or not listening), or the socket's. */
int Application_Connect(const char *componentId);

/* Whether this app can authenticate with the device certificate now.
 * EFAULT: outIsDeviceAuthReady is NULL. */
int Application_IsDeviceAuthReady(bool *outIsDeviceAuthReady);

#ifdef __cplusplus
}
#endif
