/* Small helpers the samples share for their command-line arguments
 * (the manifest's CmdArgs). */
#ifndef SAMPLES_COMMON_ARGS_H
#define SAMPLES_COMMON_ARGS_H

#include <stdbool.h>

/* A decimal number in min..max, digits only (no sign, no spaces, no
 * leading zeros except "0" itself, at most 9 digits): 0 and *out set, or
 * -1 with *out untouched. */
int sample_parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out);

/* A component id: 8-4-4-4-12 hex digits. */
bool sample_is_guid(const char *s);

#endif
