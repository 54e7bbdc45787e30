// AVX2 GEMM: a 6x16 register-tile micro-kernel (12 ymm accumulators, 2 B vectors, A values
// broadcast from the packed panel) plugged into the shared packed driver native/gemm-blocked.h.
// Used on CPUs without AVX-512; packing, blocking and threading live in the driver.
#include <immintrin.h>

#define GEMM_BLOCKED_NS avx2
#include "gemm-blocked.h"
#include "gemm.h"

namespace distill {
namespace avx2 {

// In-register transpose of an 8x8 float block: r[i] lane j -> r[j] lane i.
static inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

struct Kernel6x16 {
  static constexpr int MR = 6, NR = 16;
  // KC: the 6-row A micro-panel of 288 k (7 KiB) stays in L1 while the 16-wide B micro-panels
  // (18 KiB each; both fit Zen 3's 32 KiB L1) of a task's MB x NB block stream past it from L2
  // (KC x NB = 288 KiB). 288, not 256: the dims 288 (stories15M) and the head loss's 262-row
  // chunks are one K block, so C is written once (+6-9 % at 2 threads on those shapes than 256);
  // MC x NC bound the packed A and B super-blocks (shared, in L3).
  static constexpr int KC = 288, MC = 4096, NC = 4096, MB = 96, NB = 256;

  // Transposing pack (A stored (M,K) -> MR = 6 panel, B stored (N,K) -> NR = 16 panel): dst[k*R + r]
  // = src[r*ld + k], rows past `rows` zero; 8x8 blocks transposed in registers. A 6-wide group
  // stores 8 floats per k and lets the 2 extra spill into the next k's slots, which that k then
  // overwrites; only the panel's last k is stored exactly.
  template <int R>
  static void packT(float* dst, const float* src, long ld, int rows, int kc) {
    for (int g = 0; g * 8 < R; g++) {
      const int lanes = R - 8 * g < 8 ? R - 8 * g : 8;
      const int valid = rows - 8 * g < 0 ? 0 : (rows - 8 * g > lanes ? lanes : rows - 8 * g);
      for (int k0 = 0; k0 < kc; k0 += 8) {
        const int kn = kc - k0 < 8 ? kc - k0 : 8;
        const __m256i lmask = _mm256_cmpgt_epi32(_mm256_set1_epi32(kn), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 r[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
          if (i < valid) {
            const float* row = src + (8 * g + i) * ld + k0;
            // Rows are ld apart (often a cache miss each): fetch 4 lines ahead on every row.
            _mm_prefetch(reinterpret_cast<const char*>(row + 64), _MM_HINT_T0);
            r[i] = kn == 8 ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, lmask);
          } else {
            r[i] = _mm256_setzero_ps();
          }
        }
        transpose8(r);
        float* d = dst + static_cast<long>(k0) * R + 8 * g;
        const bool last = k0 + kn == kc;
        for (int c = 0; c < kn; c++) {
          if (lanes == 8 || !(last && c == kn - 1)) {
            _mm256_storeu_ps(d + c * R, r[c]);
          } else {
            alignas(32) float tmp[8];
            _mm256_store_ps(tmp, r[c]);
            for (int j = 0; j < lanes; j++) d[c * R + j] = tmp[j];
          }
        }
      }
    }
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
