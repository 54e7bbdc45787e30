// Portable GEMM: row-parallel, i-k-j loop order so the inner loop streams B and C rows.
// The fallback for CPUs without AVX2 and the readable baseline the SIMD kernels are tested against.
#include "gemm.h"
#include "threadpool.h"

#include <algorithm>
#include <vector>

namespace distill {
namespace scalar {

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  const int rowsPerTask = 16;
  const int ntasks = (M + rowsPerTask - 1) / rowsPerTask;
  pool().parallelFor(ntasks, [&](int task, int) {
    const int i0 = task * rowsPerTask, i1 = std::min(M, i0 + rowsPerTask);
    for (int i = i0; i < i1; i++) {
      float* c = C + static_cast<long>(i) * N;
      if (beta == 0.f) std::fill(c, c + N, 0.f);
      else if (beta != 1.f) for (int j = 0; j < N; j++) c[j] *= beta;
      for (int p = 0; p < K; p++) {
        const float a = alpha * (transA ? A[static_cast<long>(p) * M + i] : A[static_cast<long>(i) * K + p]);
        if (!transB) {
          const float* b = B + static_cast<long>(p) * N;
          for (int j = 0; j < N; j++) c[j] += a * b[j];
        } else {
          for (int j = 0; j < N; j++) c[j] += a * B[static_cast<long>(j) * K + p];
        }
      }
    }
  });
}

}  // namespace scalar
}  // namespace distill
