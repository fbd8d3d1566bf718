/* applibs/log.h: debug messages (Azure Sphere compatible). Rampart writes
 * them to the app's stderr, which rampartd keeps in the app's log ring
 * (`rampart device app logs`). */
#pragma once

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* printf-style. Returns 0, or -1 with errno. */
int Log_Debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As Log_Debug, with a va_list. */
int Log_DebugVarArgs(const char *fmt, va_list args)
	__attribute__((format(printf, 1, 0)));

#ifdef __cplusplus
}
#endif
