/* applibs/applibs_internal_api_traits.h: Azure Sphere's headers include this
 * file; some projects include it too. Rampart needs nothing from it. */
#pragma once
