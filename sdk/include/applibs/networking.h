/* applibs/networking.h: network state (Azure Sphere compatible subset).
 *
 * Rampart apps see the network their compartment has: none without
 * AllowedConnections (or server ports), else the guarded interface rampartd
 * gives them. The device's network configuration (IP, Wi-Fi, DHCP and SNTP
 * servers) belongs to the host, not to apps: the calls that would change it
 * fail with EPERM. docs/sdk.md lists what each call reports. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <applibs/networking_structs_v1.h>

#ifndef NETWORKING_STRUCTS_VERSION
#define NETWORKING_STRUCTS_VERSION 1
#endif

#if NETWORKING_STRUCTS_VERSION == 1
typedef struct z__Networking_NetworkInterface_v1 Networking_NetworkInterface;
#else
#error NETWORKING_STRUCTS_VERSION is set to an unsupported value. Only version 1 is currently supported.
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t Networking_InterfaceConnectionStatus;
enum {
	Networking_InterfaceConnectionStatus_InterfaceUp = 1 << 0,
	Networking_InterfaceConnectionStatus_ConnectedToNetwork = 1 << 1,
	Networking_InterfaceConnectionStatus_IpAvailable = 1 << 2,
	Networking_InterfaceConnectionStatus_ConnectedToInternet = 1 << 3
};

typedef uint32_t Networking_NtpOption;
enum {
	Networking_NtpOption_FallbackServerDisabled = 0,
	Networking_NtpOption_FallbackServerEnabled = 1,
};

/* true when an interface other than loopback is up, has an address and a
 * default route. The host keeps the clock; Rampart does not wait for a
 * time sync. EFAULT: NULL. */
int Networking_IsNetworkingReady(bool *outIsNetworkingReady);

/* The number of interfaces other than loopback in this app's view. */
ssize_t Networking_GetInterfaceCount(void);

/* Fill up to networkInterfacesArrayCount entries; returns how many.
 * EFAULT: NULL; ERANGE: a count of 0. */
ssize_t Networking_GetInterfaces(Networking_NetworkInterface *outNetworkInterfacesArray,
				 size_t networkInterfacesArrayCount);

/* The status bits of one interface. EFAULT; ENOENT: no such interface. */
int Networking_GetInterfaceConnectionStatus(const char *networkInterfaceName,
					    Networking_InterfaceConnectionStatus *outStatus);

/* Apps do not configure the device's interfaces: EPERM. */
int Networking_SetInterfaceState(const char *networkInterfaceName, bool isEnabled);

/* The host keeps time: *outIsEnabled is true. EFAULT: NULL. */
int Networking_TimeSync_GetEnabled(bool *outIsEnabled);

/* Apps do not configure the host's time sync: EPERM. */
int Networking_TimeSync_SetEnabled(bool enabled);

#ifdef __cplusplus
}
#endif
