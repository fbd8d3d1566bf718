/* applibs/powermanagement.h: {"power":...} requests on the app socket.
 * rampartd checks Capabilities.PowerControls (EPERM, reported as Azure's
 * EACCES), records a Planned event and acts only when its configuration
 * enables power actions; {"done":false,...} is still a success here
 * (docs/sdk.md). */
#include <errno.h>

#include <applibs/powermanagement.h>

#include "sdk_priv.h"

static int power(json_t *req)
{
	json_t *reply = NULL;
	int rc, err;

	if (!req) {
		errno = ENOMEM;
		return -1;
	}
	rc = rp_sdk_call(req, &reply, NULL);
	err = errno;
	json_decref(req);
	json_decref(reply);
	if (rc < 0) {
		errno = err == EPERM ? EACCES : err;
		return -1;
	}
	return 0;
}

int PowerManagement_ForceSystemReboot(void)
{
	return power(json_pack("{s:s}", "power", "ForceReboot"));
}

int PowerManagement_ForceSystemPowerDown(unsigned int maximum_residency_in_seconds)
{
	if (maximum_residency_in_seconds == 0) {
		errno = EINVAL;
		return -1;
	}
	return power(json_pack("{s:s}", "power", "ForcePowerDown"));
}

int PowerManagement_SetSystemPowerProfile(PowerManagement_System_PowerProfile desired_profile)
{
	static const char *const names[] = { "PowerSaver", "Balanced", "HighPerformance" };

	if (desired_profile > PowerManagement_HighPerformance) {
		errno = EINVAL;
		return -1;
	}
	return power(json_pack("{s:s,s:s}", "power", "SetPowerProfile", "profile",
			       names[desired_profile]));
}
