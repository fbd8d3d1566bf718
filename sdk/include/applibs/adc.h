/* applibs/adc.h: analog-to-digital converters (Azure Sphere compatible).
 *
 * The app's manifest lists the controller in Capabilities.Adc; channels are
 * chosen in code. Each call returns -1 and sets errno on failure. Rampart:
 * the descriptor is an rpph socket served by rampartd (IIO sysfs) or by
 * rampart-sim. */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An ADC controller id: the MainCoreHeaderValue of an Adc peripheral. */
typedef uint32_t ADC_ControllerId;

/* A channel of a controller, from 0. */
typedef uint32_t ADC_ChannelId;

/* Open the controller. EACCES: not in the manifest; ENODEV; EBUSY. */
int ADC_Open(ADC_ControllerId id);

/* The number of valid bits ADC_Poll returns for channel (e.g. 12). */
int ADC_GetSampleBitCount(int fd, ADC_ChannelId channel);

/* Tell the driver the reference voltage, in volts. EINVAL: out of range. */
int ADC_SetReferenceVoltage(int fd, ADC_ChannelId channel, float referenceVoltage);

/* Read one raw sample of channel into *outSampleValue. EFAULT: NULL. */
int ADC_Poll(int fd, ADC_ChannelId channel, uint32_t *outSampleValue);

#ifdef __cplusplus
}
#endif
