// Assembling a batch from per-mask work done in parallel. Internal header.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "turborle.hpp"

namespace turborle {

// Chunks that parallel_chunks splits n items into: a few per thread.
inline size_t chunk_count(size_t n, int threads) {
  return threads > 1 ? std::min<size_t>(n, size_t(threads) * 4) : (n ? 1 : 0);
}

// Splits [0, n) into contiguous chunks (a few per thread) and runs fn(begin, end, chunk) on
// them in parallel; returns the number of chunks.
template <class Fn>
size_t parallel_chunks(size_t n, int threads, Fn&& fn) {
  const size_t chunks = chunk_count(n, threads);
  parallel_for(chunks, threads, [&](size_t c) { fn(n * c / chunks, n * (c + 1) / chunks, c); });
  return chunks;
}

// The parts' masks as one batch, in order (n: how many masks they hold). Each part is emptied
// as it is copied; one part is moved, not copied.
Batch join_parts(std::vector<Batch>& parts, size_t n);

// Runs fill(i, counts, h, w) for every mask i on up to `threads` threads and assembles the
// batch in order. size_hint(i) bounds the counts mask i adds: each chunk reserves their sum
// once (reserved pages cost nothing until written), so no vector regrows.
template <class Hint, class Fill>
Batch build_batch(size_t n, int threads, Hint&& size_hint, Fill&& fill) {
  std::vector<Batch> parts(chunk_count(n, threads));
  parallel_chunks(n, threads, [&](size_t begin, size_t end, size_t c) {
    Batch& part = parts[c];
    size_t reserve = 0;
    for (size_t i = begin; i < end; ++i) reserve += size_hint(i);
    part.counts.reserve(reserve);
    part.h.reserve(end - begin);
    part.w.reserve(end - begin);
    part.offsets.reserve(end - begin + 1);
    for (size_t i = begin; i < end; ++i) {
      uint64_t h = 0, w = 0;
      fill(i, part.counts, h, w);
      part.close(h, w);
    }
  });
  return join_parts(parts, n);
}

}  // namespace turborle
