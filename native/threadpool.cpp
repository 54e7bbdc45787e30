// Thread pool implementation: workers wait on a generation counter; each job hands out task
// indices through an atomic counter, so uneven tasks balance themselves.
#include "threadpool.h"

#include <cstdlib>
#include <memory>

namespace distill {

ThreadPool::ThreadPool(int threads) : nthreads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < nthreads_; i++) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run(int ntasks, void (*fn)(void*, int, int), void* ctx) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = fn;
    ctx_ = ctx;
    ntasks_ = ntasks;
    next_.store(0);
    pending_.store(nthreads_ - 1);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (int t; (t = next_.fetch_add(1)) < ntasks;) fn(ctx, t, 0);
  // Wait for the workers to finish their last task (they decrement pending_ when out of work).
  while (pending_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
}

void ThreadPool::worker(int id) {
  uint64_t seen = 0;
  for (;;) {
    // Spin a little before sleeping: back-to-back kernels in a training step arrive within µs.
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < 20000; spin++) {
      std::this_thread::yield();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return generation_.load() != seen; });
      g = generation_.load();
    }
    seen = g;
    if (stop_) return;
    for (int t; (t = next_.fetch_add(1)) < ntasks_;) fn_(ctx_, t, id);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

int hardwareCores() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

static std::unique_ptr<ThreadPool> g_pool;

ThreadPool& pool() {
  if (!g_pool) {
    int n = hardwareCores();
    if (const char* e = std::getenv("DISTILL_THREADS")) {
      int v = std::atoi(e);
      if (v > 0) n = v;
    }
    g_pool = std::make_unique<ThreadPool>(n);
  }
  return *g_pool;
}

void setThreads(int n) {
  g_pool.reset();
  g_pool = std::make_unique<ThreadPool>(n < 1 ? 1 : n);
}

}  // namespace distill
