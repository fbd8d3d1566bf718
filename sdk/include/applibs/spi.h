/* applibs/spi.h: SPI master interfaces (Azure Sphere compatible).
 *
 * The app's manifest must list the interface in Capabilities.SpiMaster.
 * Define SPI_STRUCTS_VERSION (only 1 exists; it is the default) before
 * including this header to choose the struct layouts. Each call returns -1
 * and sets errno on failure. Rampart: the descriptor is /dev/spidevB.C on a
 * real board (SPI_IOC_MESSAGE) or an rpph socket on the simulated board. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef SPI_STRUCTS_VERSION
#define SPI_STRUCTS_VERSION 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The most transfers one SPIMaster_TransferSequential call accepts. On the
 * simulated board's socket handles the limit is 64 (docs/sdk.md). */
#define SPI_MASTER_MAX_TRANSFERS 256

/* An SPI interface id: the MainCoreHeaderValue of a SpiMaster peripheral. */
typedef int SPI_InterfaceId;

/* A chip select. Azure's MT3620 names MT3620_SPI_CS_A (-1) and
 * MT3620_SPI_CS_B (-2) are accepted as chip selects 0 and 1. */
typedef int SPI_ChipSelectId;

typedef enum SPI_Mode {
	SPI_Mode_Invalid = 0x0,
	SPI_Mode_0 = 0x1, /* CPOL 0, CPHA 0 */
	SPI_Mode_1 = 0x2, /* CPOL 0, CPHA 1 */
	SPI_Mode_2 = 0x3, /* CPOL 1, CPHA 0 */
	SPI_Mode_3 = 0x4  /* CPOL 1, CPHA 1 */
} SPI_Mode;

typedef enum SPI_BitOrder {
	SPI_BitOrder_Invalid = 0x0,
	SPI_BitOrder_LsbFirst = 0x1,
	SPI_BitOrder_MsbFirst = 0x2
} SPI_BitOrder;

typedef enum SPI_ChipSelectPolarity {
	SPI_ChipSelectPolarity_Invalid = 0x0,
	SPI_ChipSelectPolarity_ActiveLow = 0x1,
	SPI_ChipSelectPolarity_ActiveHigh = 0x2
} SPI_ChipSelectPolarity;

typedef enum SPI_TransferFlags {
	SPI_TransferFlags_None = 0x0,
	SPI_TransferFlags_Read = 0x1,
	SPI_TransferFlags_Write = 0x2
} SPI_TransferFlags;

#include <applibs/spi_structs_v1.h>

#if SPI_STRUCTS_VERSION == 1
typedef struct z__SPIMaster_Config_v1 SPIMaster_Config;
typedef struct z__SPIMaster_Transfer_v1 SPIMaster_Transfer;
#else
#error To use applibs/spi.h you must first #define a supported SPI_STRUCTS_VERSION
#endif

/* Fill config with the defaults (chip select active low). EFAULT: NULL. */
int SPIMaster_InitConfig(SPIMaster_Config *config);

/* Open the interface with one chip select. config must come from
 * SPIMaster_InitConfig. The interface starts in SPI_Mode_0, MSB first.
 * EACCES: not in the manifest; ENODEV; EBUSY; EFAULT; EINVAL. */
int SPIMaster_Open(SPI_InterfaceId interfaceId, SPI_ChipSelectId chipSelectId,
		   const SPIMaster_Config *config);

/* Set the maximum clock of later transfers, in Hz. */
int SPIMaster_SetBusSpeed(int fd, uint32_t speedInHz);

/* Set the clock mode. EINVAL: not SPI_Mode_0..3. */
int SPIMaster_SetMode(int fd, SPI_Mode mode);

/* Set the bit order. EINVAL: not LsbFirst or MsbFirst. */
int SPIMaster_SetBitOrder(int fd, SPI_BitOrder order);

/* Write then read with chip select held. Returns the bytes transferred. */
ssize_t SPIMaster_WriteThenRead(int fd, const uint8_t *writeData, size_t lenWriteData,
				uint8_t *readData, size_t lenReadData);

/* Fill transferCount transfers with the defaults (no flags, no data).
 * EFAULT: transfers is NULL. */
int SPIMaster_InitTransfers(SPIMaster_Transfer *transfers, size_t transferCount);

/* Half-duplex transfers in order, chip select held across all of them.
 * Each transfer reads or writes (not both), length > 0. Returns the bytes
 * transferred. EINVAL: a malformed transfer or too many; EFAULT. */
ssize_t SPIMaster_TransferSequential(int fd, const SPIMaster_Transfer *transfers,
				     size_t transferCount);

#ifdef __cplusplus
}
#endif
