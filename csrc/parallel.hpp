// Splitting work across threads: one persistent pool per process, used only when the work
// pays for it.
//
// * The pool is created lazily on the first call that wants more than one thread, grows on
//   demand up to the threads asked for, and is never torn down (its threads sleep when idle).
// * After fork() the child's first call finds the pool belongs to another process and starts
//   a fresh one (the parent's threads do not exist in the child).
// * A thread that cannot be created (RLIMIT_NPROC, ENOMEM) is simply not used: the call runs
//   on the threads that exist, down to the calling thread alone. Nothing aborts.
// * Calls from many threads at once share the pool: a call hands its items out through an
//   atomic counter and the calling thread works too, so a busy pool only means fewer helpers,
//   never more threads.
// * If items throw, the exception of the lowest item index is rethrown in the caller (so the
//   error a user sees does not depend on timing); items past it are skipped.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>

namespace turborle {

// Work below this many estimated nanoseconds per thread is not worth a thread: waking a pool
// thread and joining it costs a few microseconds.
constexpr uint64_t kMinNanosPerThread = 50'000;

// Threads worth using for work of about `nanos` nanoseconds, at most `threads`.
inline int threads_for(int threads, uint64_t nanos) {
  const uint64_t useful = std::max<uint64_t>(1, nanos / kMinNanosPerThread);
  return static_cast<int>(std::min<uint64_t>(useful, threads > 1 ? uint64_t(threads) : 1));
}

// Runs `task` on up to `helpers` pool threads (each runs it once); returns immediately. Pool
// threads that are busy or cannot be created just do not run it: callers must not rely on
// any helper running.
void run_on_pool(const std::shared_ptr<std::function<void()>>& task, size_t helpers);

// Threads the pool holds now (for tests and `info`).
size_t pool_size();

// Counts the fork()s this process descends from (0 in the original process): the pool
// notices a fork by it, and so may a binding's caches. A plain read, no system call.
uint64_t fork_generation();

namespace detail {

// State of one parallel_for, shared with the helpers. A helper that starts after the call
// returned finds no items left and touches only this (kept alive by its shared_ptr), never
// the caller's frame.
struct ForState {
  explicit ForState(size_t n) : n(n), first_failed(n) {}
  const size_t n;
  std::atomic<size_t> next{0};
  std::atomic<size_t> first_failed;
  int inside = 0;  // helpers inside the loop (guarded by mutex)
  std::exception_ptr error;
  std::mutex mutex;
  std::condition_variable done;
};

}  // namespace detail

template <class Fn>
void parallel_for(size_t n, int threads, Fn&& fn) {
  const size_t workers = std::min<size_t>(n, threads > 1 ? size_t(threads) : 1);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto state = std::make_shared<detail::ForState>(n);
  detail::ForState* s = state.get();
  // `fn` lives in the caller's frame; helpers reach it only while the caller waits below.
  auto* body = &fn;
  auto work = [s, body] {
    for (size_t i; (i = s->next.fetch_add(1)) < s->n;) {
      if (i > s->first_failed.load(std::memory_order_relaxed)) continue;
      try {
        (*body)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(s->mutex);
        if (i < s->first_failed.load()) {
          s->error = std::current_exception();
          s->first_failed = i;
        }
      }
    }
  };
  auto helper = std::make_shared<std::function<void()>>([state, work] {
    // Items are claimed only after announcing ourselves, so the caller, which waits for
    // `inside` to drop to 0 once every item is claimed, never leaves while we run one.
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      ++state->inside;
    }
    work();
    std::lock_guard<std::mutex> lock(state->mutex);
    if (--state->inside == 0) state->done.notify_all();
  });
  run_on_pool(helper, workers - 1);
  work();
  std::unique_lock<std::mutex> lock(s->mutex);
  s->done.wait(lock, [s] { return s->inside == 0; });
  if (s->error) std::rethrow_exception(s->error);
}

}  // namespace turborle
