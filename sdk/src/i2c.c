/* applibs/i2c.h: I2C masters. A socket speaks rpph I2C_XFER (simulated
 * board); a character device is /dev/i2c-N, driven with I2C_RDWR so that
 * write-then-read is one transaction with a repeated start. */
#include <errno.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <string.h>
#include <sys/ioctl.h>

#include <applibs/i2c.h>

#include "sdk_priv.h"

/* The kernel refuses I2C_RDWR messages over 8192 bytes. */
#define KERNEL_MSG_MAX 8192

int I2CMaster_Open(I2C_InterfaceId id)
{
	return rp_sdk_open("I2cMaster", id, NULL);
}

static int config(int fd, uint32_t what, uint32_t value)
{
	enum rp_sdk_kind kind;

	if (rp_sdk_kind(fd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET) {
		struct rp_ph_msg req = { .op = RP_PH_I2C_CONFIG, .a = what, .b = value }, rep;
		uint8_t buf[RP_PH_MSG_MAX];

		return rp_sdk_ph(fd, &req, &rep, buf);
	}
	if (kind != RP_SDK_CHAR) {
		errno = EBADF;
		return -1;
	}
	if (what == RP_PH_CFG_SPEED_HZ)
		return 0; /* fixed by the board's device tree (see i2c.h) */
	/* I2C_TIMEOUT counts in units of 10 ms. */
	if (ioctl(fd, I2C_TIMEOUT, (unsigned long)(value + 9) / 10) < 0) {
		if (errno == ENOTTY)
			errno = EBADF;
		return -1;
	}
	return 0;
}

int I2CMaster_SetBusSpeed(int fd, uint32_t speedInHz)
{
	if (speedInHz == 0) {
		errno = EINVAL;
		return -1;
	}
	return config(fd, RP_PH_CFG_SPEED_HZ, speedInHz);
}

int I2CMaster_SetTimeout(int fd, uint32_t timeoutInMs)
{
	return config(fd, RP_PH_CFG_TIMEOUT_MS, timeoutInMs);
}

/* One transaction: write wlen bytes then read rlen bytes (either may be 0,
 * not both). Returns 0 or -1 with errno. */
static int xfer(int fd, I2C_DeviceAddress address, const uint8_t *w, size_t wlen,
		uint8_t *r, size_t rlen)
{
	enum rp_sdk_kind kind;

	if (rp_sdk_kind(fd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET) {
		struct rp_ph_msg req = { .op = RP_PH_I2C_XFER, .a = address,
					 .b = (uint32_t)rlen, .len = (uint32_t)wlen,
					 .data = w }, rep;
		uint8_t buf[RP_PH_MSG_MAX];

		if (address > 0x7f || wlen > RP_PH_DATA_MAX || rlen > RP_PH_DATA_MAX) {
			errno = EINVAL;
			return -1;
		}
		if (rp_sdk_ph(fd, &req, &rep, buf) < 0)
			return -1;
		if (rep.len != rlen) {
			errno = EIO;
			return -1;
		}
		if (rlen)
			memcpy(r, rep.data, rlen);
		return 0;
	}
	if (kind != RP_SDK_CHAR) {
		errno = EBADF;
		return -1;
	}
	if (address > 0x3ff || wlen > KERNEL_MSG_MAX || rlen > KERNEL_MSG_MAX) {
		errno = EINVAL;
		return -1;
	}
	struct i2c_msg msgs[2];
	struct i2c_rdwr_ioctl_data d = { .msgs = msgs, .nmsgs = 0 };
	__u16 ten = address > 0x7f ? I2C_M_TEN : 0;

	if (wlen || !rlen)
		msgs[d.nmsgs++] = (struct i2c_msg){ .addr = (__u16)address, .flags = ten,
						    .len = (__u16)wlen,
						    .buf = (__u8 *)(uintptr_t)w };
	if (rlen)
		msgs[d.nmsgs++] = (struct i2c_msg){ .addr = (__u16)address,
						    .flags = (__u16)(ten | I2C_M_RD),
						    .len = (__u16)rlen, .buf = r };
	if (ioctl(fd, I2C_RDWR, &d) < 0) {
		/* A NACK is ENXIO in Azure's API; i2c drivers also say
		 * EREMOTEIO. */
		if (errno == EREMOTEIO)
			errno = ENXIO;
		else if (errno == ENOTTY)
			errno = EBADF;
		return -1;
	}
	return 0;
}

static size_t cap(int fd, size_t n)
{
	enum rp_sdk_kind kind;
	size_t max = KERNEL_MSG_MAX;

	if (rp_sdk_kind(fd, &kind) == 0 && kind == RP_SDK_SOCKET)
		max = RP_PH_DATA_MAX;
	return n > max ? max : n;
}

ssize_t I2CMaster_Read(int fd, I2C_DeviceAddress address, uint8_t *buffer,
		       size_t maxLength)
{
	size_t n = cap(fd, maxLength);

	if (n && !buffer) {
		errno = EFAULT;
		return -1;
	}
	if (n == 0)
		return 0;
	if (xfer(fd, address, NULL, 0, buffer, n) < 0)
		return -1;
	return (ssize_t)n;
}

ssize_t I2CMaster_Write(int fd, I2C_DeviceAddress address, const uint8_t *data,
			size_t length)
{
	enum rp_sdk_kind kind;
	size_t n = cap(fd, length);

	if (n && !data) {
		errno = EFAULT;
		return -1;
	}
	if (rp_sdk_kind(fd, &kind) < 0)
		return -1;
	/* A zero-length write probes the address on a kernel bus; the
	 * simulated bus has no such transfer and the call does nothing. */
	if (n == 0 && kind == RP_SDK_SOCKET)
		return 0;
	if (xfer(fd, address, data, n, NULL, 0) < 0)
		return -1;
	return (ssize_t)n;
}

ssize_t I2CMaster_WriteThenRead(int fd, I2C_DeviceAddress address,
				const uint8_t *writeData, size_t lenWriteData,
				uint8_t *readData, size_t lenReadData)
{
	if ((lenWriteData && !writeData) || (lenReadData && !readData)) {
		errno = EFAULT;
		return -1;
	}
	if (lenWriteData == 0 && lenReadData == 0)
		return 0;
	if (xfer(fd, address, writeData, lenWriteData, readData, lenReadData) < 0)
		return -1;
	return (ssize_t)(lenWriteData + lenReadData);
}

int I2CMaster_SetDefaultTargetAddress(int fd, I2C_DeviceAddress address)
{
	enum rp_sdk_kind kind;

	if (rp_sdk_kind(fd, &kind) < 0)
		return -1;
	if (address > 0x7f && (kind != RP_SDK_CHAR || address > 0x3ff)) {
		errno = EINVAL;
		return -1;
	}
	if (kind == RP_SDK_SOCKET)
		return 0; /* read(2)/write(2) do not apply to socket handles */
	if (kind != RP_SDK_CHAR) {
		errno = EBADF;
		return -1;
	}
	if (address > 0x7f && ioctl(fd, I2C_TENBIT, 1UL) < 0)
		return -1;
	if (ioctl(fd, I2C_SLAVE, (unsigned long)address) < 0) {
		if (errno == ENOTTY)
			errno = EBADF;
		return -1;
	}
	return 0;
}
