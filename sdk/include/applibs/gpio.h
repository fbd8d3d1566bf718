/* applibs/gpio.h: general-purpose I/O lines (Azure Sphere compatible).
 *
 * An app may open only the GPIOs its manifest lists in Capabilities.Gpio
 * (by number or "$NAME" from the hardware definition). Each call returns
 * -1 and sets errno on failure. Rampart: the descriptor comes from rampartd
 * (a kernel GPIO line request on real boards, an rpph socket on the
 * simulated board); see docs/sdk.md. */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A GPIO id: the MainCoreHeaderValue of a Gpio peripheral. */
typedef int GPIO_Id;

/* A line value; one of GPIO_Value. */
typedef uint8_t GPIO_Value_Type;

typedef enum {
	GPIO_Value_Low = 0,
	GPIO_Value_High = 1
} GPIO_Value;

/* An output mode; one of GPIO_OutputMode. */
typedef uint8_t GPIO_OutputMode_Type;

typedef enum {
	GPIO_OutputMode_PushPull = 0,
	GPIO_OutputMode_OpenDrain = 1,
	GPIO_OutputMode_OpenSource = 2
} GPIO_OutputMode;

/* Open gpioId as an input. Returns a descriptor (close it with close()),
 * or -1 with errno: EACCES (not in the manifest), ENODEV (no such GPIO on
 * this board), EBUSY (already open). */
int GPIO_OpenAsInput(GPIO_Id gpioId);

/* Open gpioId as an output driven to initialValue. Errors as
 * GPIO_OpenAsInput, plus EINVAL for a bad outputMode or initialValue. */
int GPIO_OpenAsOutput(GPIO_Id gpioId, GPIO_OutputMode_Type outputMode,
		      GPIO_Value_Type initialValue);

/* Read the line. EFAULT: outValue is NULL; EBADF: not a GPIO descriptor. */
int GPIO_GetValue(int gpioFd, GPIO_Value_Type *outValue);

/* Drive an output line. EINVAL: value is not a GPIO_Value; EBADF: not a
 * GPIO descriptor. On a line opened as input it has no effect. */
int GPIO_SetValue(int gpioFd, GPIO_Value_Type value);

#ifdef __cplusplus
}
#endif
