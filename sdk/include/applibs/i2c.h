/* applibs/i2c.h: I2C master interfaces (Azure Sphere compatible).
 *
 * The app's manifest must list the interface in Capabilities.I2cMaster.
 * Each call returns -1 and sets errno on failure. Rampart: the descriptor
 * is /dev/i2c-N on a real board (I2C_RDWR) or an rpph socket on the
 * simulated board; see docs/sdk.md. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define I2C_BUS_SPEED_STANDARD 100000   /* 100 kHz */
#define I2C_BUS_SPEED_FAST 400000       /* 400 kHz */
#define I2C_BUS_SPEED_FAST_PLUS 1000000 /* 1 MHz */
#define I2C_BUS_SPEED_HIGH 3400000      /* 3.4 MHz */

/* An I2C interface id: the MainCoreHeaderValue of an I2cMaster peripheral. */
typedef int I2C_InterfaceId;

/* A 7-bit (or, on kernel buses, 10-bit) target address, without the R/W bit. */
typedef uint32_t I2C_DeviceAddress;

/* Open the interface for this app's exclusive use. EACCES: not in the
 * manifest; ENODEV: no such interface; EBUSY: held by another app. */
int I2CMaster_Open(I2C_InterfaceId id);

/* Request a bus speed in Hz. On kernel buses the speed is fixed by the
 * board's device tree; the call is accepted and has no effect there. */
int I2CMaster_SetBusSpeed(int fd, uint32_t speedInHz);

/* Set the timeout of later operations, in milliseconds. */
int I2CMaster_SetTimeout(int fd, uint32_t timeoutInMs);

/* Read up to maxLength bytes from address. Returns the bytes read.
 * ENXIO: no device acknowledged; EBUSY: bus busy; ETIMEDOUT. */
ssize_t I2CMaster_Read(int fd, I2C_DeviceAddress address, uint8_t *buffer,
		       size_t maxLength);

/* Write length bytes to address. Returns the bytes written. Errors as
 * I2CMaster_Read. */
ssize_t I2CMaster_Write(int fd, I2C_DeviceAddress address, const uint8_t *data,
			size_t length);

/* One transaction: start, write, repeated start, read, stop. Returns the
 * bytes written plus the bytes read. Errors as I2CMaster_Read. */
ssize_t I2CMaster_WriteThenRead(int fd, I2C_DeviceAddress address,
				const uint8_t *writeData, size_t lenWriteData,
				uint8_t *readData, size_t lenReadData);

/* Set the target of read(2) and write(2) on fd (kernel buses). It does not
 * check that a device answers at that address. */
int I2CMaster_SetDefaultTargetAddress(int fd, I2C_DeviceAddress address);

#ifdef __cplusplus
}
#endif
