// simdjson (vendored in third_party/, unchanged) as the core builds it: its AVX2 ("haswell")
// and portable ("fallback") x86-64 code paths, and its arm64 one, chosen at run time. The
// Westmere (SSE4.2) and Ice Lake (AVX-512) paths are left out: they halve its compile time
// (CI builds it five ways), and AVX2 already reads JSON faster than the job consumes it.
// Internal header: every file that uses simdjson includes this one.
#pragma once

#define SIMDJSON_IMPLEMENTATION_WESTMERE 0
#define SIMDJSON_IMPLEMENTATION_ICELAKE 0
#include "third_party/simdjson/simdjson.h"
