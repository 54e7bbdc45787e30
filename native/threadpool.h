// The engine's own thread pool: persistent workers that spin briefly, then sleep, between jobs.
// One job at a time (kernels are called from the single JS thread); no allocation per job.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
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
  // thread works too (it is thread 0). Returns when every task is done.
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
    run(ntasks, [](void* c, int task, int thread) { (*static_cast<F*>(c))(task, thread); }, &f);
  }

 private:
  void worker(int id);
  int nthreads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> next_{0};
  std::atomic<int> pending_{0};
  int ntasks_ = 0;
  void (*fn_)(void*, int, int) = nullptr;
  void* ctx_ = nullptr;
  bool stop_ = false;
};

// The process-wide pool the kernels use, created on first use with threads = number of cores
// (or $DISTILL_THREADS); setThreads replaces it.
ThreadPool& pool();
void setThreads(int n);
int hardwareCores();

}  // namespace distill
