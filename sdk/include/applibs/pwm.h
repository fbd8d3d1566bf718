/* applibs/pwm.h: pulse-width modulation (Azure Sphere compatible).
 *
 * The app's manifest lists the controller in Capabilities.Pwm; channels are
 * chosen in code. Rampart: the descriptor is an rpph socket served by
 * rampartd (sysfs PWM) or by rampart-sim. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A PWM controller id: the MainCoreHeaderValue of a Pwm peripheral. */
typedef unsigned int PWM_ControllerId;

/* A channel of a controller, from 0. */
typedef uint32_t PWM_ChannelId;

/* One of PWM_Polarity_*. */
typedef uint32_t PwmPolarity;

enum {
	PWM_Polarity_Normal,   /* high during the duty cycle */
	PWM_Polarity_Inversed, /* low during the duty cycle */
};

/* The whole state of one channel, applied at once by PWM_Apply. */
typedef struct PwmState {
	unsigned int period_nsec;    /* one cycle, high plus low */
	unsigned int dutyCycle_nsec; /* <= period_nsec */
	PwmPolarity polarity;
	bool enabled;
} PwmState;

/* Open the controller. EACCES: not in the manifest; ENODEV; EBUSY. */
int PWM_Open(PWM_ControllerId pwm);

/* Apply newState to pwmChannel. EBADF: not a PWM descriptor; ENODEV: no
 * such channel; EINVAL: newState is NULL or inconsistent. */
int PWM_Apply(int pwmFd, PWM_ChannelId pwmChannel, const PwmState *newState);

#ifdef __cplusplus
}
#endif
