// Splitting a batch across threads. Workers are started for the call and joined before it
// returns: nothing outlives a call, so there is no global state and nothing to repair after
// fork(). Items are handed out one at a time (masks differ in cost); the calling thread works
// too. If items throw, the exception of the lowest item index is rethrown in the caller (so
// the error a user sees does not depend on timing); items past it are skipped.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace turborle {

template <class Fn>
void parallel_for(size_t n, int threads, Fn&& fn) {
  const size_t workers = std::min<size_t>(n, threads > 1 ? size_t(threads) : 1);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<size_t> first_failed{n};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      if (i > first_failed.load(std::memory_order_relaxed)) continue;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (i < first_failed.load()) {
          error = std::current_exception();
          first_failed = i;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace turborle
