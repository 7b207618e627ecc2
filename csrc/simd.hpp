// Vector kernels with run-time dispatch. Each kernel has a scalar version, always built and
// used as the reference, plus AVX2 and AVX-512 versions on x86-64 (compiled with function
// target attributes, so the library itself needs no -march flag) and NEON on arm64.
#pragma once

#include <cstdint>
#include <string>

namespace turborle {

enum class Isa : int { kScalar = 0, kNeon = 1, kAvx2 = 2, kAvx512 = 3 };

// Best instruction set this CPU (and OS) supports.
Isa detect_isa();
// "scalar", "neon", "avx2", "avx512".
const char* isa_name(Isa isa);
// Parses a name; throws std::invalid_argument for unknown names or unsupported sets.
Isa parse_isa(const std::string& name);

// First index in p[i, len) whose byte is nonzero (want_nonzero) or zero; len if none.
uint64_t find_byte(Isa isa, const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero);

// One row of a row-major mask against the row above: bits holds the row above's bits on
// entry and this row's on return; the columns whose value changed are written to changed
// (room for w entries) in increasing order. Returns how many changed.
size_t row_changes(Isa isa, const uint8_t* row, uint64_t w, uint64_t* bits, uint32_t* changed);

// row[x] <- bit x of bits (0 or 1) for x < w.
void unpack_row(Isa isa, const uint64_t* bits, uint64_t w, uint8_t* row);

}  // namespace turborle
