/* applibs/networking.h: what the app's own network namespace shows. An
 * interface counts when it is not loopback; "connected to the internet"
 * means a default route through it (/proc/self/net/route), not a probe. */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include <applibs/networking.h>

#include "sdk_priv.h"

/* Whether /proc/self/net/route has a default route through name (NULL:
 * through any interface). */
static int default_route(const char *name)
{
	char text[16384];
	const char *p;
	ssize_t n;
	int fd = open("/proc/self/net/route", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	/* Lines: Iface \t Destination(hex) \t Gateway ...; skip the header. */
	p = strchr(text, '\n');
	while (p && *++p) {
		const char *tab = strchr(p, '\t');

		if (!tab)
			break;
		if (strncmp(tab + 1, "00000000\t", 9) == 0 &&
		    (!name || ((size_t)(tab - p) == strlen(name) &&
			       strncmp(p, name, (size_t)(tab - p)) == 0)))
			return 1;
		p = strchr(p, '\n');
	}
	return 0;
}

struct iface {
	char name[IF_NAMESIZE];
	unsigned int flags;
	int has_ip;
};

/* The non-loopback interfaces, at most cap; returns how many, or -1. */
static ssize_t list(struct iface *out, size_t cap)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0, k;

	if (getifaddrs(&ifa) < 0) {
		errno = EAGAIN;
		return -1;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_name || (i->ifa_flags & IFF_LOOPBACK) ||
		    strlen(i->ifa_name) >= IF_NAMESIZE)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(out[k].name, i->ifa_name) == 0)
				break;
		if (k == n) {
			if (n == cap)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(out[n].name, i->ifa_name, strlen(i->ifa_name) + 1);
			n++;
		}
		out[k].flags = i->ifa_flags;
		if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET ||
				    i->ifa_addr->sa_family == AF_INET6))
			out[k].has_ip = 1;
	}
	freeifaddrs(ifa);
	return (ssize_t)n;
}

#define IFACES_MAX 32

static Networking_InterfaceConnectionStatus status_of(const struct iface *f)
{
	Networking_InterfaceConnectionStatus s = 0;

	if (f->flags & IFF_UP)
		s |= Networking_InterfaceConnectionStatus_InterfaceUp;
	if ((f->flags & IFF_UP) && (f->flags & IFF_RUNNING))
		s |= Networking_InterfaceConnectionStatus_ConnectedToNetwork;
	if ((s & Networking_InterfaceConnectionStatus_ConnectedToNetwork) && f->has_ip)
		s |= Networking_InterfaceConnectionStatus_IpAvailable;
	if ((s & Networking_InterfaceConnectionStatus_IpAvailable) && default_route(f->name))
		s |= Networking_InterfaceConnectionStatus_ConnectedToInternet;
	return s;
}

int Networking_IsNetworkingReady(bool *outIsNetworkingReady)
{
	struct iface f[IFACES_MAX];
	ssize_t n, i;

	if (!outIsNetworkingReady) {
		errno = EFAULT;
		return -1;
	}
	*outIsNetworkingReady = false;
	n = list(f, IFACES_MAX);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (status_of(&f[i]) & Networking_InterfaceConnectionStatus_ConnectedToInternet)
			*outIsNetworkingReady = true;
	return 0;
}

ssize_t Networking_GetInterfaceCount(void)
{
	struct iface f[IFACES_MAX];

	return list(f, IFACES_MAX);
}

ssize_t Networking_GetInterfaces(Networking_NetworkInterface *outNetworkInterfacesArray,
				 size_t networkInterfacesArrayCount)
{
	struct iface f[IFACES_MAX];
	ssize_t n, i;

	if (!outNetworkInterfacesArray) {
		errno = EFAULT;
		return -1;
	}
	if (networkInterfacesArrayCount == 0) {
		errno = ERANGE;
		return -1;
	}
	n = list(f, IFACES_MAX);
	if (n < 0)
		return -1;
	if ((size_t)n > networkInterfacesArrayCount)
		n = (ssize_t)networkInterfacesArrayCount;
	for (i = 0; i < n; i++) {
		Networking_NetworkInterface *o = &outNetworkInterfacesArray[i];

		memset(o, 0, sizeof(*o));
		o->z__magicAndVersion = RP_SDK_NET_IFACE_V1;
		o->isEnabled = (f[i].flags & IFF_UP) != 0;
		memcpy(o->interfaceName, f[i].name, strlen(f[i].name) + 1);
		o->ipConfigurationType = Networking_IpType_DhcpClient;
		o->interfaceMediumType = strncmp(f[i].name, "wl", 2) == 0
						 ? Networking_InterfaceMedium_Wifi
						 : Networking_InterfaceMedium_Ethernet;
	}
	return n;
}

int Networking_GetInterfaceConnectionStatus(const char *networkInterfaceName,
					    Networking_InterfaceConnectionStatus *outStatus)
{
	struct iface f[IFACES_MAX];
	ssize_t n, i;

	if (!networkInterfaceName || !outStatus) {
		errno = EFAULT;
		return -1;
	}
	n = list(f, IFACES_MAX);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(f[i].name, networkInterfaceName) == 0) {
			*outStatus = status_of(&f[i]);
			return 0;
		}
	errno = ENOENT;
	return -1;
}

int Networking_SetInterfaceState(const char *networkInterfaceName, bool isEnabled)
{
	(void)isEnabled;
	errno = networkInterfaceName ? EPERM : EFAULT;
	return -1;
}

int Networking_TimeSync_GetEnabled(bool *outIsEnabled)
{
	if (!outIsEnabled) {
		errno = EFAULT;
		return -1;
	}
	*outIsEnabled = true;
	return 0;
}

int Networking_TimeSync_SetEnabled(bool enabled)
{
	(void)enabled;
	errno = EPERM;
	return -1;
}
