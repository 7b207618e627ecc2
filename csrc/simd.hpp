// Vector kernels chosen at run time: one table of kernels per instruction set, picked once per
// operation (`const Kernels& k = kernels(cfg.isa)`). The scalar table is always built and is
// the reference the others are tested against; AVX2 and AVX-512 (x86-64) and NEON (arm64)
// tables are compiled in their own files (isa_*.cpp) for their instruction set, so the
// library itself needs no -march flag.
#pragma once

#include <cstddef>
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

struct Box;
struct RleRef;

struct Kernels {
  // First index in p[i, len) whose byte is nonzero (want_nonzero) or zero; len if none.
  uint64_t (*find_byte)(const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero);

  // One row of a row-major mask against the row above: bits holds the row above's bits on
  // entry and this row's on return; the columns whose value changed are written to changed
  // (room for w entries) in increasing order. Returns how many changed.
  size_t (*row_changes)(const uint8_t* row, uint64_t w, uint64_t* bits, uint32_t* changed);

  // row[x] <- bit x of bits (0 or 1) for x < w.
  void (*unpack_row)(const uint64_t* bits, uint64_t w, uint8_t* row);

  // COCO strings (string_codec.hpp). values: how many values a string holds (bytes ending a
  // value; exact for a valid string). parse: its counts into out (room for `values`);
  // measure: its area and, when box is set, its tight box. Both return false, having written
  // some prefix, for anything unusual (a bad byte, a value over eight groups, a count out of
  // range, a bad sum): callers then run the reference parser for the exact result or error.
  size_t (*values)(const char* s, size_t len);
  bool (*parse)(const char* s, size_t len, uint64_t total, uint64_t* out);
  bool (*measure)(const char* s, size_t len, uint64_t h, uint64_t total, uint64_t* area,
                  Box* box);

  // COCO strings written (string_codec.cpp): string_length is the exact length of the
  // string of counts[0, m); write_string writes exactly that many bytes to out.
  size_t (*string_length)(const uint64_t* counts, size_t m);
  void (*write_string)(const uint64_t* counts, size_t m, char* out);

  // IoU by bit planes (iou.cpp): the pixels set in both of two blocks of `cols` columns of
  // `words` 64-bit words each, column c of a at a + c * stride_a, of b at b + c * stride_b.
  uint64_t (*and_count)(const uint64_t* a, size_t stride_a, const uint64_t* b, size_t stride_b,
                        size_t cols, size_t words);

  // The tight box of a mask (measure.cpp).
  void (*box)(RleRef r, Box* out);

  // One mask decoded to out (decode.cpp), column-major, or row-major when `rows` (then h and
  // w fit rows_fit), writing whole cache lines without reading them first: for outputs far
  // larger than the cache. nullptr where the instruction set has none (plain stores then).
  void (*decode_stream)(RleRef r, uint8_t* out, bool rows);
};

// The kernels of an instruction set (one this CPU supports: see parse_isa).
const Kernels& kernels(Isa isa);

}  // namespace turborle
