/* applibs/deviceauth_curl.h: Rampart's alias of <tlsutils/deviceauth_curl.h>. */
#pragma once

#include <tlsutils/deviceauth_curl.h>
