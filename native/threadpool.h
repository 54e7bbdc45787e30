// The engine's own thread pool: persistent workers that spin briefly, then sleep, between jobs.
// One job at a time (kernels are called from the single JS thread); no allocation per job.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace distill {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return nthreads_; }
  // Runs fn(task, thread) for task in [0, ntasks), tasks handed out dynamically; the calling
  // thread works too (it is thread 0). Returns when every task is done. It waits only for tasks,
  // never for a worker that took none (a descheduled worker cannot stall a job it had no part in).
  // fn is a plain function pointer + context so a call allocates nothing.
  void run(int ntasks, void (*fn)(void* ctx, int task, int thread), void* ctx);

  // Convenience over run() for lambdas (the lambda lives on the caller's stack; no allocation).
  template <class F>
  void parallelFor(int ntasks, F&& f) {
    if (ntasks <= 0) return;
    if (ntasks == 1 || nthreads_ == 1) {
      for (int t = 0; t < ntasks; t++) f(t, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;  // F is a reference type for an lvalue callable
    run(ntasks, [](void* c, int task, int thread) { (*static_cast<Fn*>(c))(task, thread); }, &f);
  }

 private:
  void worker(int id);
  // Claims the next task of job `gen`; -1 when the job has moved on or has no tasks left.
  int claim(uint32_t gen);
  void work(uint32_t gen, int thread);
  int nthreads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  // generation (24 bits) | task count (20 bits) | next task index (20 bits): a worker claims with
  // one CAS against the whole word, so a late worker of an old job can never take a task of the
  // next one, nor read the next job's task count against the old job's index.
  std::atomic<uint64_t> state_{0};
  std::atomic<int> done_{0};
  std::atomic<void (*)(void*, int, int)> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

// The process-wide pool the kernels use, created on first use with threads = number of cores
// (or $DISTILL_THREADS); setThreads replaces it.
ThreadPool& pool();
void setThreads(int n);
int hardwareCores();

}  // namespace distill
