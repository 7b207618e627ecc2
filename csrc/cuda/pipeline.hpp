// The GPU pipelines (encode, strings, measure, decode, parse) over thrust algorithms, for the
// target of the including translation unit: device.cu (nvcc) or host.cpp (serial host build).
// Defines the functions of target_api.inc in turborle::gpu::TRLE_TARGET.
#pragma once

#include <thrust/adjacent_difference.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/scan.h>
#include <thrust/transform_reduce.h>

#include <type_traits>
#include <utility>
#include <vector>

#include "passes.hpp"

namespace turborle::gpu::TRLE_TARGET {

namespace {

using Index = thrust::counting_iterator<uint64_t>;

template <class Fn>
void for_each_item(Exec& exec, uint64_t n, const Fn& fn) {
  if (n > 0) exec.for_each(n, fn);
}

// out[0..n] = exclusive scan of fn(0..n-1) followed by its total (fn(n) must be 0).
template <class Fn>
void scan_with_total(Exec& exec, uint64_t n, const Fn& fn, uint64_t* out) {
  auto in = thrust::make_transform_iterator(Index(0), fn);
  thrust::exclusive_scan(exec.policy(), in, in + (n + 1), out, uint64_t(0), thrust::plus<uint64_t>());
  exec.check_launch();
}

template <class T>
T read_back(Exec& exec, const T* p) {
  T value{};
  exec.to_host(&value, p, sizeof(T));
  return value;
}

// Calls fn(Format{}, std::bool_constant<aligned>{}) for the masks' element format and whether
// every tile row is a 16-byte aligned load.
template <class Fn>
void with_format(const Dense& d, Fn&& fn) {
  const size_t size = dtype_size(d.dtype);
  const bool aligned = (d.w * size) % 16 == 0 && reinterpret_cast<uintptr_t>(d.data) % 16 == 0;
  auto go = [&](auto format) {
    if (aligned)
      fn(format, std::true_type{});
    else
      fn(format, std::false_type{});
  };
  switch (d.dtype) {
    case DType::kBool:
    case DType::kUInt8:
      go(Bytes{});
      break;
    case DType::kFloat16:
      go(Half{});
      break;
    case DType::kBFloat16:
      go(BFloat16{});
      break;
    case DType::kFloat32:
      go(Float{});
      break;
  }
}

template <class Format, bool kAligned>
Masks<Format, kAligned> masks_of(const Dense& d) {
  using M = Masks<Format, kAligned>;
  return M{static_cast<const typename Format::Bits*>(d.data), Tiling<M::kV>(d.n, d.h, d.w),
           d.threshold_key};
}

// Counts of every mask on the target: [offsets (n + 1) | counts (total)].
struct Encoded {
  Buffer<uint64_t> columns;
  uint64_t n, total;
  const uint64_t* offsets() const { return columns.data(); }
  const uint64_t* counts() const { return columns.data() + n + 1; }
};

Encoded encode_on_target(const Dense& d, Exec& exec) {
  if (d.n == 0 || d.h * d.w == 0) {  // no pixels: every mask is {0}
    std::vector<uint64_t> host(2 * d.n + 1, 0);
    for (uint64_t i = 0; i <= d.n; ++i) host[i] = i;
    Encoded e{Buffer<uint64_t>(exec, host.size()), d.n, d.n};
    exec.to_target(e.columns.data(), host.data(), host.size() * sizeof(uint64_t));
    return e;
  }
  const uint64_t blocks = Tiling<16>(d.n, d.h, d.w).blocks;  // (row blocks: any kV)
  const uint64_t columns = d.n * d.w;
  Buffer<uint32_t> bits(exec, d.n * blocks * d.w);
  with_format(d, [&](auto format, auto aligned) {
    using F = decltype(format);
    constexpr bool kAligned = decltype(aligned)::value;
    const auto masks = masks_of<F, kAligned>(d);
    for_each_item(exec, masks.tiling.items(), ChangeBits<F, kAligned>{masks, bits.data()});
  });
  const ColumnWords words{bits.data(), d.w, blocks};
  Buffer<uint64_t> column_start(exec, columns + 1);
  {
    Buffer<uint32_t> totals(exec, columns);
    for_each_item(exec, columns, ColumnTotals{words, totals.data()});
    scan_with_total(exec, columns, OrZero<uint32_t>{totals.data(), columns}, column_start.data());
  }
  const uint64_t total = read_back(exec, column_start.data() + columns);
  Encoded e{Buffer<uint64_t>(exec, d.n + 1 + total), d.n, total};
  {
    Buffer<uint64_t> positions(exec, total);
    for_each_item(exec, columns, WritePositions{words, d.h, column_start.data(), positions.data()});
    thrust::adjacent_difference(exec.policy(), positions.data(), positions.data() + total,
                                e.columns.data() + d.n + 1);
    exec.check_launch();
  }
  for_each_item(exec, d.n + 1, MaskOffsets{column_start.data(), d.w, e.columns.data()});
  return e;
}

// Run ends and parities, then the pixels of every mask (all h x w) into out.
void decode_runs(Exec& exec, const uint64_t* counts, uint64_t m, const uint64_t* offsets,
                 uint64_t n, uint64_t h, uint64_t w, uint8_t* out, bool column_major) {
  const uint64_t pixels = n * h * w;
  if (pixels == 0) return;
  Buffer<uint64_t> ends(exec, m);
  thrust::inclusive_scan(exec.policy(), counts, counts + m, ends.data(), thrust::plus<uint64_t>());
  exec.check_launch();
  Buffer<uint8_t> fg(exec, m);
  for_each_item(exec, m, RunParity{offsets, n, fg.data()});
  const Runs runs{counts, ends.data(), fg.data(), m};
  if (column_major) {
    const bool aligned = reinterpret_cast<uintptr_t>(out) % 16 == 0;
    for_each_item(exec, (pixels + 15) / 16, DecodeScan{runs, pixels, out, aligned});
    return;
  }
  const Tiling<16> tiling(n, h, w);
  if (w % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0)
    for_each_item(exec, tiling.items(), DecodeRows<true>{runs, tiling, out});
  else
    for_each_item(exec, tiling.items(), DecodeRows<false>{runs, tiling, out});
}

// Parsed strings on the target: first[s] is string s's first count (n + 1 entries).
struct Parsed {
  Buffer<uint64_t> first, counts;
  uint64_t count;
};

Parsed parse_on_target(const HostStrings& s, Exec& exec) {
  const uint64_t n = s.n, len = s.offsets[n];
  Buffer<uint8_t> chars(exec, len);
  Buffer<uint64_t> soff(exec, n + 1), heights(exec, n), widths(exec, n);
  exec.to_target(chars.data(), s.chars, len);
  exec.to_target(soff.data(), s.offsets, (n + 1) * sizeof(uint64_t));
  exec.to_target(heights.data(), s.heights, n * sizeof(uint64_t));
  exec.to_target(widths.data(), s.widths, n * sizeof(uint64_t));
  const StringsView str{chars.data(), len, soff.data(), n};

  Buffer<uint64_t> value_index(exec, len + 1);
  scan_with_total(exec, len, ValueEnd{str}, value_index.data());
  const uint64_t count = read_back(exec, value_index.data() + len);

  Buffer<uint64_t> value_last(exec, count), first(exec, n + 1), value(exec, count);
  for_each_item(exec, len, ScatterValueEnds{ValueEnd{str}, value_index.data(), value_last.data()});
  for_each_item(exec, n + 1, FirstValues{soff.data(), value_index.data(), first.data()});
  for_each_item(exec, count, DecodeValues{str, first.data(), value_last.data(), value.data()});

  const ParityTerm term{str, first.data(), value.data(), count};
  Buffer<ParitySums> before(exec, count + 1);
  {
    auto in = thrust::make_transform_iterator(Index(0), term);
    thrust::exclusive_scan(exec.policy(), in, in + (count + 1), before.data(), ParitySums{},
                           AddParitySums{});
    exec.check_launch();
  }
  Buffer<uint64_t> counts(exec, count);
  for_each_item(exec, count, CountsFromValues{term, before.data(), counts.data()});
  Buffer<uint64_t> sums(exec, count + 1);
  scan_with_total(exec, count, OrZero<uint64_t>{counts.data(), count}, sums.data());

  const FindError find{str,          heights.data(), widths.data(), first.data(), value_last.data(),
                       value.data(), counts.data(),  sums.data(),   count};
  const ParseError error = thrust::transform_reduce(exec.policy(), Index(0),
                                                    Index(len + count + n), find, ParseError{},
                                                    EarlierError{});
  exec.check_launch();
  if (error.kind != ParseError::kNone) throw_parse_error(error, s);
  return Parsed{std::move(first), std::move(counts), count};
}

}  // namespace

void encode(const Dense& masks, const Place& where, const HostAllocator& alloc) {
  Exec exec(where);
  const Encoded e = encode_on_target(masks, exec);
  const size_t bytes = (e.n + 1 + e.total) * sizeof(uint64_t);
  exec.to_host(alloc(bytes), e.columns.data(), bytes);
}

void encode_strings(const Dense& masks, const Place& where, const HostAllocator& alloc) {
  Exec exec(where);
  const Encoded e = encode_on_target(masks, exec);
  Buffer<uint64_t> char_start(exec, e.total + 1);
  scan_with_total(exec, e.total, StringLength{e.counts(), e.offsets(), e.n, e.total},
                  char_start.data());
  const uint64_t chars = read_back(exec, char_start.data() + e.total);
  const size_t head = (e.n + 1) * sizeof(uint64_t);
  Buffer<uint8_t> out(exec, head + chars);
  auto* string_start = reinterpret_cast<uint64_t*>(out.data());
  for_each_item(exec, e.n + 1, Gather{char_start.data(), e.offsets(), string_start});
  for_each_item(exec, e.total,
                WriteString{e.counts(), e.offsets(), e.n, char_start.data(),
                            reinterpret_cast<char*>(out.data() + head)});
  exec.to_host(alloc(head + chars), out.data(), head + chars);
}

void measure(const Dense& d, const Place& where, uint64_t* area, double* bbox, bool xyxy) {
  if (d.n == 0) return;
  Exec exec(where);
  Buffer<uint64_t> acc(exec, 5 * d.n);
  for_each_item(exec, d.n, MeasureInit{acc.data()});
  if (d.h * d.w != 0) {
    with_format(d, [&](auto format, auto aligned) {
      using F = decltype(format);
      constexpr bool kAligned = decltype(aligned)::value;
      const auto masks = masks_of<F, kAligned>(d);
      for_each_item(exec, masks.tiling.items(), MeasureTiles<F, kAligned>{masks, acc.data()});
    });
  }
  for_each_item(exec, d.n, MeasureFinish{acc.data(), area, bbox, xyxy});
}

void decode_counts(const HostCounts& r, const Place& where, uint8_t* out, bool column_major) {
  if (r.n * r.h * r.w == 0) return;
  Exec exec(where);
  Buffer<uint64_t> counts(exec, r.m), offsets(exec, r.n + 1);
  exec.to_target(counts.data(), r.counts, r.m * sizeof(uint64_t));
  exec.to_target(offsets.data(), r.offsets, (r.n + 1) * sizeof(uint64_t));
  decode_runs(exec, counts.data(), r.m, offsets.data(), r.n, r.h, r.w, out, column_major);
}

void decode_strings(const HostStrings& s, const Place& where, uint8_t* out, bool column_major) {
  Exec exec(where);
  const Parsed p = parse_on_target(s, exec);
  if (s.n == 0) return;
  decode_runs(exec, p.counts.data(), p.count, p.first.data(), s.n, s.heights[0], s.widths[0], out,
              column_major);
}

void parse_strings(const HostStrings& s, const Place& where, const HostAllocator& alloc) {
  Exec exec(where);
  const Parsed p = parse_on_target(s, exec);
  auto* host = static_cast<uint64_t*>(alloc((s.n + 1 + p.count) * sizeof(uint64_t)));
  exec.to_host(host, p.first.data(), (s.n + 1) * sizeof(uint64_t));
  exec.to_host(host + s.n + 1, p.counts.data(), p.count * sizeof(uint64_t));
}

}  // namespace turborle::gpu::TRLE_TARGET
