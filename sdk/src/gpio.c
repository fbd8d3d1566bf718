/* applibs/gpio.h: GPIO lines through rampartd's descriptors. A socket
 * speaks rpph (simulated board); anything else is a kernel GPIO v2 line
 * request for exactly one line. */
#include <errno.h>
#include <linux/gpio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <applibs/gpio.h>

#include "sdk_priv.h"

static const char *const modes[] = { "PushPull", "OpenDrain", "OpenSource" };

int GPIO_OpenAsInput(GPIO_Id gpioId)
{
	json_t *x = json_pack("{s:s}", "direction", "input");
	int fd, err;

	if (!x) {
		errno = ENOMEM;
		return -1;
	}
	fd = rp_sdk_open("Gpio", gpioId, x);
	err = errno;
	json_decref(x);
	errno = err;
	return fd;
}

int GPIO_OpenAsOutput(GPIO_Id gpioId, GPIO_OutputMode_Type outputMode,
		      GPIO_Value_Type initialValue)
{
	json_t *x;
	int fd, err;

	if (outputMode > GPIO_OutputMode_OpenSource || initialValue > GPIO_Value_High) {
		errno = EINVAL;
		return -1;
	}
	x = json_pack("{s:s,s:s,s:i}", "direction", "output", "output_mode",
		      modes[outputMode], "value", (int)initialValue);
	if (!x) {
		errno = ENOMEM;
		return -1;
	}
	fd = rp_sdk_open("Gpio", gpioId, x);
	err = errno;
	json_decref(x);
	errno = err;
	return fd;
}

int GPIO_GetValue(int gpioFd, GPIO_Value_Type *outValue)
{
	enum rp_sdk_kind kind;

	if (!outValue) {
		errno = EFAULT;
		return -1;
	}
	if (rp_sdk_kind(gpioFd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET) {
		struct rp_ph_msg req = { .op = RP_PH_GPIO_GET }, rep;
		uint8_t buf[RP_PH_MSG_MAX];

		if (rp_sdk_ph(gpioFd, &req, &rep, buf) < 0)
			return -1;
		*outValue = rep.b ? GPIO_Value_High : GPIO_Value_Low;
		return 0;
	}
	struct gpio_v2_line_values v = { .bits = 0, .mask = 1 };

	if (ioctl(gpioFd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			errno = EBADF;
		return -1;
	}
	*outValue = (v.bits & 1) ? GPIO_Value_High : GPIO_Value_Low;
	return 0;
}

int GPIO_SetValue(int gpioFd, GPIO_Value_Type value)
{
	enum rp_sdk_kind kind;

	if (value > GPIO_Value_High) {
		errno = EINVAL;
		return -1;
	}
	if (rp_sdk_kind(gpioFd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET) {
		struct rp_ph_msg req = { .op = RP_PH_GPIO_SET, .a = value }, rep;
		uint8_t buf[RP_PH_MSG_MAX];

		if (rp_sdk_ph(gpioFd, &req, &rep, buf) < 0)
			/* An input line: no effect, as on Azure Sphere. */
			return errno == EPERM ? 0 : -1;
		return 0;
	}
	struct gpio_v2_line_values v = { .bits = value, .mask = 1 };

	if (ioctl(gpioFd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) {
		if (errno == EPERM)
			return 0;
		if (errno == ENOTTY || errno == EINVAL)
			errno = EBADF;
		return -1;
	}
	return 0;
}
