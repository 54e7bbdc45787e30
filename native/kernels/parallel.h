// Splitting helpers over the engine's thread pool: run small work on the calling thread, big work
// in fixed chunks (so results never depend on the thread count). Only for native/kernels/*.
// Included after simd.h inside a translation unit for one ISA; defines nothing else.
#pragma once
#include <cstddef>

#include "ops.h"
#include "threadpool.h"

namespace distill {
namespace DISTILL_ISA_NS {

// f(begin, end) over [0, n) in chunks of `chunk` items; one call on the calling thread when
// `work` (the element count the range stands for) is below kParallelMin or there is one chunk.
template <class F>
inline void parallelChunks(size_t n, size_t chunk, size_t work, F&& f) {
  if (n == 0) return;
  if (chunk == 0) chunk = 1;
  if (work <= kParallelMin || chunk >= n) {
    f(size_t{0}, n);
    return;
  }
  const int ntasks = static_cast<int>((n + chunk - 1) / chunk);
  pool().parallelFor(ntasks, [&](int task, int) {
    const size_t b = static_cast<size_t>(task) * chunk;
    const size_t e = b + chunk < n ? b + chunk : n;
    f(b, e);
  });
}

// Elementwise: f(begin, end) over [0, n) in chunks of 16K elements.
template <class F>
inline void parallelRange(size_t n, F&& f) { parallelChunks(n, 16384, n, f); }

// Row-wise: f(rowBegin, rowEnd) over N rows of C elements, ~16K elements per task.
template <class F>
inline void parallelRows(int N, size_t C, F&& f) {
  const size_t rows = C >= 16384 ? 1 : 16384 / (C == 0 ? 1 : C);
  parallelChunks(static_cast<size_t>(N), rows, static_cast<size_t>(N) * C,
                 [&](size_t b, size_t e) { f(static_cast<int>(b), static_cast<int>(e)); });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
