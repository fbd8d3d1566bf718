/* applibs/adc.h: ADC controllers over rpph (rampartd serves IIO sysfs,
 * rampart-sim its simulated converter). */
#include <errno.h>
#include <math.h>

#include <applibs/adc.h>

#include "sdk_priv.h"

int ADC_Open(ADC_ControllerId id)
{
	return rp_sdk_open("Adc", id, NULL);
}

static int call(int fd, uint16_t op, uint32_t a, uint32_t b, uint32_t *out)
{
	struct rp_ph_msg req = { .op = op, .a = a, .b = b }, rep;
	uint8_t buf[RP_PH_MSG_MAX];
	enum rp_sdk_kind kind;

	if (rp_sdk_kind(fd, &kind) < 0)
		return -1;
	if (kind != RP_SDK_SOCKET) {
		errno = EBADF;
		return -1;
	}
	if (rp_sdk_ph(fd, &req, &rep, buf) < 0)
		return -1;
	if (out)
		*out = rep.b;
	return 0;
}

int ADC_GetSampleBitCount(int fd, ADC_ChannelId channel)
{
	uint32_t bits;

	if (call(fd, RP_PH_ADC_BITS, channel, 0, &bits) < 0)
		return -1;
	if (bits == 0 || bits > 32) {
		errno = EIO;
		return -1;
	}
	return (int)bits;
}

int ADC_SetReferenceVoltage(int fd, ADC_ChannelId channel, float referenceVoltage)
{
	double mv = (double)referenceVoltage * 1000.0;

	/* Positive and at most 1000 V; NaN fails both comparisons. */
	if (!(mv >= 1.0 && mv <= 1000000.0)) {
		errno = EINVAL;
		return -1;
	}
	return call(fd, RP_PH_ADC_REF, channel, (uint32_t)lround(mv), NULL);
}

int ADC_Poll(int fd, ADC_ChannelId channel, uint32_t *outSampleValue)
{
	if (!outSampleValue) {
		errno = EFAULT;
		return -1;
	}
	return call(fd, RP_PH_ADC_POLL, channel, 0, outSampleValue);
}
