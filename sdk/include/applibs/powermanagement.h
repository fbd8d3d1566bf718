/* applibs/powermanagement.h: reboot, power down and power profiles (Azure
 * Sphere compatible). Each needs its entry in Capabilities.PowerControls
 * (ForceReboot, ForcePowerDown, SetPowerProfile), else EACCES. Rampart:
 * rampartd records the request as a Planned event and acts on it only when
 * its configuration enables power actions; otherwise the call still
 * succeeds (docs/sdk.md). */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t PowerManagement_System_PowerProfile;
enum {
	PowerManagement_PowerSaver = 0,
	PowerManagement_Balanced = 1,
	PowerManagement_HighPerformance = 2
};

/* Start a reboot: every app, this one too, gets SIGTERM. */
int PowerManagement_ForceSystemReboot(void);

/* Start a power-down for at most maximum_residency_in_seconds. */
int PowerManagement_ForceSystemPowerDown(unsigned int maximum_residency_in_seconds);

/* Switch the system power profile. EINVAL: unknown profile. */
int PowerManagement_SetSystemPowerProfile(PowerManagement_System_PowerProfile desired_profile);

#ifdef __cplusplus
}
#endif
