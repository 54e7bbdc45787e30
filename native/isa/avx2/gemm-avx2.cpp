// AVX2 GEMM: a 6x16 register-tile micro-kernel (12 ymm accumulators, 2 B vectors, A values
// broadcast from the packed panel) plugged into the shared packed driver native/gemm-blocked.h.
// Used on CPUs without AVX-512; packing, blocking and threading live in the driver.
#include <immintrin.h>

#define GEMM_BLOCKED_NS avx2
#include "gemm-blocked.h"
#include "gemm.h"

namespace distill {
namespace avx2 {

struct Kernel6x16 {
  static constexpr int MR = 6, NR = 16;
  // KC: the 6-row A micro-panel of 256 k (6 KiB) stays in L1 while the 16-wide B micro-panels
  // (16 KiB each) of a task's MB x NB block stream past it from L2 (KC x NB = 256 KiB);
  // MC x NC bound the packed A and B super-blocks (shared, in L3).
  static constexpr int KC = 256, MC = 4096, NC = 4096, MB = 96, NB = 256;

  // Transposing pack of op(A) (A stored (M,K)) / op(B) (B stored (N,K)): the portable loop.
  template <int R>
  static void packT(float* dst, const float* src, long ld, int rows, int kc) {
    blocked::packTPortable<R>(dst, src, ld, rows, kc);
  }

  __attribute__((noinline)) static void tile(int kc, const float* ap, const float* bp, float* c,
                                             long ldc, float alpha, float beta) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    for (int k = 0; k < kc; k++) {
      const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        const __m256 a = _mm256_broadcast_ss(ap + i);
        acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
      }
      ap += MR;
      bp += NR;
    }
    const __m256 va = _mm256_set1_ps(alpha);
    if (beta == 0.f) {
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, acc[i][0]));
        _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, acc[i][1]));
      }
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        float* ci = c + i * ldc;
        _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, acc[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
        _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, acc[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
      }
    }
  }
};

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  blocked::gemm<Kernel6x16>(transA, transB, M, N, K, alpha, A, B, beta, C);
}

}  // namespace avx2
}  // namespace distill
