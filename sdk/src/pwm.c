/* applibs/pwm.h: PWM controllers over rpph (rampartd serves sysfs PWM,
 * rampart-sim its simulated chip). */
#include <errno.h>

#include <applibs/pwm.h>

#include "base/bytes.h"
#include "sdk_priv.h"

int PWM_Open(PWM_ControllerId pwm)
{
	if (pwm > 0x7fffffffu) {
		errno = ENODEV;
		return -1;
	}
	return rp_sdk_open("Pwm", pwm, NULL);
}

int PWM_Apply(int pwmFd, PWM_ChannelId pwmChannel, const PwmState *newState)
{
	uint8_t data[16], buf[RP_PH_MSG_MAX];
	struct rp_ph_msg req = { .op = RP_PH_PWM_APPLY, .a = pwmChannel,
				 .len = sizeof(data), .data = data }, rep;
	enum rp_sdk_kind kind;

	if (!newState || newState->dutyCycle_nsec > newState->period_nsec ||
	    newState->polarity > PWM_Polarity_Inversed) {
		errno = EINVAL;
		return -1;
	}
	if (pwmChannel > 1023) {
		errno = ENODEV;
		return -1;
	}
	if (rp_sdk_kind(pwmFd, &kind) < 0)
		return -1;
	if (kind != RP_SDK_SOCKET) {
		errno = EBADF;
		return -1;
	}
	rp_enc32le(data, newState->period_nsec);
	rp_enc32le(data + 4, newState->dutyCycle_nsec);
	rp_enc32le(data + 8, newState->polarity);
	rp_enc32le(data + 12, newState->enabled ? 1 : 0);
	return rp_sdk_ph(pwmFd, &req, &rep, buf);
}
