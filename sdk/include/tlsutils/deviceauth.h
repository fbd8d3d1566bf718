/* tlsutils/deviceauth.h: where the device certificate is (Azure Sphere
 * compatible). Needs Capabilities.DeviceAuthentication. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* The path of this app's client certificate (PEM), valid while the app
 * runs. Rampart: NULL with errno EAGAIN while the device has no
 * certificate (check Application_IsDeviceAuthReady first); EACCES without
 * DeviceAuthentication. */
const char *DeviceAuth_GetCertificatePath(void);

#ifdef __cplusplus
}
#endif
