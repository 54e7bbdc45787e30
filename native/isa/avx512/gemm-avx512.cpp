// AVX-512 GEMM: a 14x32 register-tile micro-kernel (28 zmm accumulators, 2 B vectors, A values
// broadcast from the packed panel) plugged into the shared packed driver native/gemm-blocked.h.
// The tile is a template over rows x 16-wide vectors so other shapes (8x48, 6x64) can be tried.
// Packing, blocking and threading live in the driver; this file holds only the register tile.
#include <immintrin.h>

#define GEMM_BLOCKED_NS avx512
#include "gemm-blocked.h"
#include "gemm.h"

namespace distill {
namespace avx512 {

template <int MR_, int NV>
struct KernelZmm {
  static constexpr int MR = MR_, NR = 16 * NV;
  // Blocking (tuned for 14x32 = KernelZmm<14, 2>, 48 KiB L1d, 2 MiB L2): KC = 320 keeps K = 288
  // in one pass (a huge C, e.g. N = 32000, is then read and written once) and splits 768 into
  // 3 x 256; the 32-wide B micro-panel (<= 40 KiB) is reused from L1/L2 by every 14-row A panel;
  // MC: an A block of ~336 rows x KC (0.4 MiB) stays in L2; NC: the shared B block (5 MiB) in L3.
  static constexpr int KC = 320, MC = 336, NC = 4096;

  // noinline: inlined into the driver, GCC spills an accumulator (28 + 4 of 32 zmm are live).
  __attribute__((noinline)) static void tile(int kc, const float* ap, const float* bp, float* c,
                                             long ldc, float alpha, float beta) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    // Pull the C tile toward L1 while the k loop runs (its rows are ldc apart, on many pages).
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * v), _MM_HINT_T0);
    for (int k = 0; k < kc; k++) {
#ifdef GEMM_PFA
      _mm_prefetch(reinterpret_cast<const char*>(ap + GEMM_PFA * MR), _MM_HINT_T0);
#endif
#ifdef GEMM_PFB
      _mm_prefetch(reinterpret_cast<const char*>(bp + GEMM_PFB * NR), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(bp + GEMM_PFB * NR + 16), _MM_HINT_T0);
#endif
      __m512 b[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) {
        const __m512 a = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
      }
      ap += MR;
      bp += NR;
    }
    const __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.f) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(c + i * ldc + 16 * v, _mm512_mul_ps(va, acc[i][v]));
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
          float* ci = c + i * ldc + 16 * v;
          _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
        }
    }
  }
};

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  blocked::gemm<KernelZmm<14, 2>>(transA, transB, M, N, K, alpha, A, B, beta, C);
}

}  // namespace avx512
}  // namespace distill
