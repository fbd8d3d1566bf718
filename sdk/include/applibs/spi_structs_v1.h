/* applibs/spi_structs_v1.h: version 1 of the SPI structs, laid out as Azure
 * Sphere's. Include applibs/spi.h, not this file. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Settings fixed when the interface is opened. Initialise it with
 * SPIMaster_InitConfig (alias SPIMaster_Config). */
struct z__SPIMaster_Config_v1 {
	uint32_t z__magicAndVersion; /* set by SPIMaster_InitConfig; do not edit */
	SPI_ChipSelectPolarity csPolarity;
};

/* One transfer. Initialise with SPIMaster_InitTransfers (alias
 * SPIMaster_Transfer). */
struct z__SPIMaster_Transfer_v1 {
	uint32_t z__magicAndVersion; /* set by SPIMaster_InitTransfers; do not edit */
	SPI_TransferFlags flags;
	const uint8_t *writeData; /* for SPI_TransferFlags_Write */
	uint8_t *readData;        /* for SPI_TransferFlags_Read */
	size_t length;
};

#ifdef __cplusplus
}
#endif
