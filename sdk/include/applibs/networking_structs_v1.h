/* applibs/networking_structs_v1.h: version 1 of the networking structs,
 * laid out as Azure Sphere's. Include applibs/networking.h, not this file. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
	Networking_IpType_DhcpNone = 0,   /* static address */
	Networking_IpType_DhcpClient = 1  /* dynamic address */
} Networking_IpType;

typedef uint8_t Networking_IpType_Type;

typedef enum {
	Networking_InterfaceMedium_Unspecified = 0,
	Networking_InterfaceMedium_Wifi = 1,
	Networking_InterfaceMedium_Ethernet = 2
} Networking_InterfaceMedium;

typedef uint8_t Networking_InterfaceMedium_Type;

/* One network interface, as Networking_GetInterfaces fills it. */
struct z__Networking_NetworkInterface_v1 {
	uint32_t z__magicAndVersion;
	bool isEnabled;
	char interfaceName[IF_NAMESIZE]; /* NUL-terminated */
	uint32_t reserved;
	Networking_IpType_Type ipConfigurationType;
	Networking_InterfaceMedium_Type interfaceMediumType;
};
