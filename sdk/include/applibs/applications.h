/* applibs/applications.h: the app's memory use (Azure Sphere compatible).
 * Each returns kilobytes, or 0 with errno set. Rampart reads the process's
 * own /proc/self/status (docs/sdk.md says which fields). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resident memory plus the kernel's page tables for this app. */
size_t Applications_GetTotalMemoryUsageInKB(void);

/* Resident memory of this app, shared libraries included. */
size_t Applications_GetUserModeMemoryUsageInKB(void);

/* The high-water mark of the resident memory. */
size_t Applications_GetPeakUserModeMemoryUsageInKB(void);

#ifdef __cplusplus
}
#endif
