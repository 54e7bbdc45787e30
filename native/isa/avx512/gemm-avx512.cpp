// AVX-512 GEMM: a 14x32 register-tile micro-kernel (28 zmm accumulators, 2 B vectors, A values
// broadcast from the packed panel, software prefetch of both panels) and a 16x16 in-register
// transposing pack, plugged into the shared packed driver native/gemm-blocked.h. The tile is a
// template over rows x 16-wide vectors so other shapes (8x48, 6x64) can be tried. Blocking,
// scratch and threading live in the driver; this file holds only register-level code.
#include <immintrin.h>

#define GEMM_BLOCKED_NS avx512
#include "gemm-blocked.h"
#include "gemm.h"

namespace distill {
namespace avx512 {

// GCC 12's AVX-512 unpack/shuffle intrinsics self-initialise an undefined vector (__Y = __Y),
// which -Wall reports as maybe-uninitialized wherever they inline; the warning is spurious.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// In-register transpose of a 16x16 float block: r[i] lane j -> r[j] lane i (64 shuffles).
static inline void transpose16(__m512 r[16]) {
  __m512 a[16], b[16];
  for (int i = 0; i < 8; i++) {  // pairs of rows: 2x2 blocks of floats per 128-bit lane
    a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {  // b[4i + c] lane l = rows 4i..4i+3 at column 4l + c
    const __m512d a0 = _mm512_castps_pd(a[4 * i]), a1 = _mm512_castps_pd(a[4 * i + 1]);
    const __m512d a2 = _mm512_castps_pd(a[4 * i + 2]), a3 = _mm512_castps_pd(a[4 * i + 3]);
    b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  for (int c = 0; c < 4; c++) {  // 4x4 transpose of 128-bit lanes across b[c], b[4+c], ...
    const __m512 t0 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x44), t1 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xEE);
    const __m512 t2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x44), t3 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(t0, t2, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(t0, t2, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(t1, t3, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(t1, t3, 0xDD);
  }
}

template <int MR_, int NV>
struct KernelZmm {
  static constexpr int MR = MR_, NR = 16 * NV;
  // Blocking (tuned for 14x32 = KernelZmm<14, 2>, 48 KiB L1d, 2 MiB L2): KC = 320 keeps K = 288
  // in one pass (a huge C, e.g. N = 32000, is then read and written once) and splits 768 into
  // 3 x 256. A task covers MB rows x NB columns: its 14-row A micro-panel (<= 18 KiB) stays in L1
  // while the task's packed B block (KC x NB, <= 640 KiB) is re-read from L2 for every 14 rows.
  // MC x NC bound the packed A and B super-blocks (5 MiB each, shared, in L3).
  static constexpr int KC = 320, MC = 4096, NC = 4096, MB = 112, NB = 512;
#ifdef GEMM_PF
  static constexpr int kPf = GEMM_PF;
#else
  static constexpr int kPf = 16;
#endif

  // Transposing pack (A stored (M,K) -> MR panel, B stored (N,K) -> NR panel): dst[k*R + r] =
  // src[r*ld + k], rows past `rows` zero; 16x16 blocks transposed in registers, masked at edges.
  template <int R>
  static void packT(float* dst, const float* src, long ld, int rows, int kc) {
    for (int g = 0; g * 16 < R; g++) {
      const int lanes = R - 16 * g < 16 ? R - 16 * g : 16;
      const __mmask16 smask = static_cast<__mmask16>((1u << lanes) - 1);
      const int valid = rows - 16 * g < 0 ? 0 : (rows - 16 * g > lanes ? lanes : rows - 16 * g);
      for (int k0 = 0; k0 < kc; k0 += 16) {
        const int kn = kc - k0 < 16 ? kc - k0 : 16;
        const __mmask16 lmask = static_cast<__mmask16>((1u << kn) - 1);
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
          if (i < valid) {
            const float* row = src + (16 * g + i) * ld + k0;
            // Rows are ld apart (often a DRAM miss each): fetch 4 lines ahead on every row.
            _mm_prefetch(reinterpret_cast<const char*>(row + 64), _MM_HINT_T0);
            r[i] = _mm512_maskz_loadu_ps(lmask, row);
          } else {
            r[i] = _mm512_setzero_ps();
          }
        }
        transpose16(r);
        float* d = dst + static_cast<long>(k0) * R + 16 * g;
        if (kn == 16) {
#pragma GCC unroll 16
          for (int c = 0; c < 16; c++) _mm512_mask_storeu_ps(d + c * R, smask, r[c]);
        } else {
          for (int c = 0; c < kn; c++) _mm512_mask_storeu_ps(d + c * R, smask, r[c]);
        }
      }
    }
  }

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
      // Software prefetch kPf k-steps ahead: the B micro-panel streams from L2 (and runs on into
      // the next panel), the A micro-panel comes from L2/L3 on the first panel of each row.
      _mm_prefetch(reinterpret_cast<const char*>(ap + kPf * MR), _MM_HINT_T0);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) _mm_prefetch(reinterpret_cast<const char*>(bp + kPf * NR + 16 * v), _MM_HINT_T0);
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

#pragma GCC diagnostic pop

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  blocked::gemm<KernelZmm<14, 2>>(transA, transB, M, N, K, alpha, A, B, beta, C);
}

}  // namespace avx512
}  // namespace distill
