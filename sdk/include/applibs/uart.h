/* applibs/uart.h: UARTs (Azure Sphere compatible).
 *
 * The app's manifest must list the UART in Capabilities.Uart. Define
 * UART_STRUCTS_VERSION (only 1 exists; it is the default) before including
 * this header. The descriptor is the tty itself, non-blocking: use read(2),
 * write(2) and EventLoop_RegisterIo on it. */
#pragma once

#include <applibs/uart_config_v1.h>

#ifndef UART_STRUCTS_VERSION
#define UART_STRUCTS_VERSION 1
#endif

#if UART_STRUCTS_VERSION == 1
typedef struct z__UART_Config_v1 UART_Config;
#else
#error To use applibs/uart.h you must first #define a supported UART_STRUCTS_VERSION
#endif

/* A UART id: the MainCoreHeaderValue of a Uart peripheral. */
typedef int UART_Id;

#ifdef __cplusplus
extern "C" {
#endif

/* Fill uartConfig with the defaults: 115200 baud, 8 data bits, no parity,
 * one stop bit, no flow control, non-blocking. */
void UART_InitConfig(UART_Config *uartConfig);

/* Open and configure a UART for this app's exclusive use. EACCES: not in
 * the manifest; ENODEV: no such UART; EBUSY: already open; EFAULT:
 * uartConfig is NULL; EINVAL: a setting the line cannot take. */
int UART_Open(UART_Id uartId, const UART_Config *uartConfig);

#ifdef __cplusplus
}
#endif
