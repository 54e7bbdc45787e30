// Thread pool implementation: a job is published by bumping the generation in state_; workers
// and the caller claim task indices from state_ with CAS and count finished tasks in done_, so
// uneven tasks balance themselves and the caller never waits on a worker that had no task.
#include "threadpool.h"

#include <cstdlib>
#include <memory>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#else
static inline void cpuRelax() {}
#endif

namespace distill {

namespace {
constexpr int kPauseSpins = 4000;    // ~tens of µs of pause: back-to-back kernels of a step
constexpr int kYieldSpins = 20000;   // then yield (the cores may be shared), then sleep
constexpr int kIndexBits = 20;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr int kMaxTasks = static_cast<int>(kIndexMask);  // larger jobs run as several
inline uint32_t genOf(uint64_t s) { return static_cast<uint32_t>(s >> (2 * kIndexBits)); }
inline int countOf(uint64_t s) { return static_cast<int>((s >> kIndexBits) & kIndexMask); }
inline int indexOf(uint64_t s) { return static_cast<int>(s & kIndexMask); }
inline uint64_t nextGeneration(uint64_t s) { return (uint64_t{genOf(s)} + 1) << (2 * kIndexBits); }

struct Slice { void (*fn)(void*, int, int); void* ctx; int offset; };
void runSlice(void* c, int task, int thread) {
  const Slice* s = static_cast<const Slice*>(c);
  s->fn(s->ctx, s->offset + task, thread);
}
}  // namespace

ThreadPool::ThreadPool(int threads) : nthreads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < nthreads_; i++) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
    state_.store(nextGeneration(state_.load()));
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::claim(uint32_t gen) {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (genOf(s) != gen) return -1;
    const int t = indexOf(s);
    if (t >= countOf(s)) return -1;
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) return t;
  }
}

void ThreadPool::work(uint32_t gen, int thread) {
  // fn_/ctx_ of `gen` stay fixed until all its tasks are done, which needs the task we claim.
  for (int t; (t = claim(gen)) >= 0;) {
    fn_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), t, thread);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::run(int ntasks, void (*fn)(void*, int, int), void* ctx) {
  if (ntasks <= 0) return;
  if (ntasks > kMaxTasks) {
    for (int off = 0; off < ntasks; off += kMaxTasks) {
      Slice slice{fn, ctx, off};
      run(ntasks - off < kMaxTasks ? ntasks - off : kMaxTasks, runSlice, &slice);
    }
    return;
  }
  fn_.store(fn, std::memory_order_relaxed);
  ctx_.store(ctx, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  // New generation with its task count, index 0; release publishes fn_/ctx_ with it.
  const uint64_t next = nextGeneration(state_.load(std::memory_order_relaxed)) | (uint64_t(ntasks) << kIndexBits);
  // seq_cst store then load, against the worker's seq_cst sleepers_ increment then state_ load:
  // either we see its increment and notify, or it sees the new generation and does not sleep.
  state_.store(next, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lk(mu_);
    cv_.notify_all();
  }
  const uint32_t gen = genOf(next);
  work(gen, 0);
  for (int spin = 0; done_.load(std::memory_order_acquire) < ntasks; spin++) {
    if (spin < kPauseSpins) cpuRelax();
    else std::this_thread::yield();
  }
}

void ThreadPool::worker(int id) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = genOf(state_.load(std::memory_order_acquire));
    for (int spin = 0; g == seen && spin < kPauseSpins + kYieldSpins; spin++) {
      if (spin < kPauseSpins) cpuRelax();
      else std::this_thread::yield();
      g = genOf(state_.load(std::memory_order_acquire));
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      cv_.wait(lk, [&] { return genOf(state_.load(std::memory_order_seq_cst)) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_acq_rel);
      g = genOf(state_.load(std::memory_order_acquire));
    }
    seen = g;
    if (stop_.load()) return;
    work(g, id);
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
