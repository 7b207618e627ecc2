// The process's thread pool behind parallel_for (see parallel.hpp for the rules).
#include <condition_variable>
#include <deque>
#include <system_error>
#include <thread>

#include "parallel.hpp"

#ifndef _WIN32
#include <pthread.h>
#endif

namespace turborle {

namespace {

// Never more pool threads than this, whatever a caller asks for.
constexpr size_t kMaxPoolThreads = 256;

using Task = std::shared_ptr<std::function<void()>>;

struct Pool {
  explicit Pool(uint64_t owner) : owner(owner) {}
  const uint64_t owner;  // fork generation of the process whose threads these are
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Task> queue;
  size_t threads = 0;
  size_t limit = kMaxPoolThreads;  // lowered when the OS refuses a thread

  void serve() {
    for (;;) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] { return !queue.empty(); });
        task = std::move(queue.front());
        queue.pop_front();
      }
      (*task)();
    }
  }
};

// fork()s since the library was loaded, counted in the child by a pthread_atfork handler
// (a getpid() per call would be a system call).
std::atomic<uint64_t> forks{0};

#ifndef _WIN32
[[maybe_unused]] const bool fork_handler_registered = [] {
  return pthread_atfork(nullptr, nullptr, [] { forks.fetch_add(1); }) == 0;
}();
#endif

// The pool of this process. Pools are never destroyed: their threads sleep on `wake` until
// the process exits. A child of fork() sees the parent's pool (whose threads it does not
// have) and replaces it without touching it: its mutex may have been held at the fork.
std::atomic<Pool*> current{nullptr};

Pool* this_process_pool() {
  const uint64_t generation = fork_generation();
  Pool* pool = current.load(std::memory_order_acquire);
  while (pool == nullptr || pool->owner != generation) {
    Pool* fresh = new Pool(generation);
    if (current.compare_exchange_strong(pool, fresh, std::memory_order_acq_rel)) return fresh;
    delete fresh;  // another thread installed one first: use it (`pool` now holds it)
  }
  return pool;
}

}  // namespace

uint64_t fork_generation() { return forks.load(std::memory_order_relaxed); }

void run_on_pool(const std::shared_ptr<std::function<void()>>& task, size_t helpers) {
  if (helpers == 0) return;
  Pool* pool = this_process_pool();
  std::lock_guard<std::mutex> lock(pool->mutex);
  const size_t wanted = std::min(helpers, pool->limit);
  while (pool->threads < wanted) {
    try {
      std::thread([pool] { pool->serve(); }).detach();
      ++pool->threads;
    } catch (const std::system_error&) {
      pool->limit = pool->threads;  // the OS said no: stop asking, run on what exists
      break;
    }
  }
  const size_t copies = std::min(helpers, pool->threads);
  for (size_t k = 0; k < copies; ++k) pool->queue.push_back(task);
  if (copies == 1)
    pool->wake.notify_one();
  else if (copies > 1)
    pool->wake.notify_all();
}

size_t pool_size() {
  Pool* pool = this_process_pool();
  std::lock_guard<std::mutex> lock(pool->mutex);
  return pool->threads;
}

}  // namespace turborle
