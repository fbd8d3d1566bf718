/* applibs/deviceauth.h: Rampart's alias of <tlsutils/deviceauth.h>. */
#pragma once

#include <tlsutils/deviceauth.h>
