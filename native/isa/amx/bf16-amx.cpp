// The 'amx' bf16 path (bf16.h): Intel AMX tiles. W (N,K) is packed once into 16-column groups of
// 32-deep K blocks in the VNNI pair layout the B operand of TDPBF16PS wants (one 1 KiB tile each,
// N padded to 32 columns, K to 32, with zeros); A is rounded to bf16 row-major (rows padded to 32,
// K to 32) on every call. Each pool task computes a block of C in 32 x 32 pieces with four
// accumulator tiles (2 A tiles x 2 B tiles per K block), stored through a small buffer so edges
// and beta need no special tiles. Compiled with -mamx-tile -mamx-bf16 -mavx512*.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "bf16.h"
#include "grow-buffer.h"
#include "threadpool.h"

namespace distill {
namespace amx {

namespace {
constexpr int kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an XSAVE feature
constexpr int kXfeatureTileData = 18;
// Rows / columns of C per task. One 32-column B pair panel (K/32 tiles, 18 KiB at K = 288) stays
// in L1 while up to 512 rows of A stream past it from L2; tried 64-512 x 128-512 on the head and
// layer shapes (bench note in docs/bf16-teacher.md), 512 x 128 was best.
constexpr int kMBlock = 512;
constexpr int kNBlock = 128;

inline int up(int x, int m) { return (x + m - 1) / m * m; }

struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colBytes[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-3: C accumulators (16 x 16 fp32); 4-5: A (16 rows x 32 bf16); 6-7: B (16 pairs x 16 cols).
const TileConfig& config() {
  static const TileConfig c = [] {
    TileConfig t;
    for (int i = 0; i < 8; i++) { t.rows[i] = 16; t.colBytes[i] = 64; }
    return t;
  }();
  return c;
}

// 16 floats -> 16 bf16, round to nearest even, NaN -> quiet NaN (toBf16, vectorised).
inline __m256i roundBf16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), _mm512_set1_epi32(0x7fc0));
  return _mm512_cvtepi32_epi16(r);
}

GrowBuffer<uint16_t>& aBuf() { static GrowBuffer<uint16_t> g; return g; }

// Rows [r0, r1) of A (M,K) -> dst (rows of Kp bf16), padding columns and rows >= M with zeros.
void roundRows(const float* A, int M, int K, int Kp, int r0, int r1, uint16_t* dst) {
  for (int r = r0; r < r1; r++) {
    uint16_t* d = dst + static_cast<size_t>(r) * Kp;
    if (r >= M) { std::memset(d, 0, static_cast<size_t>(Kp) * 2); continue; }
    const float* s = A + static_cast<size_t>(r) * K;
    int k = 0;
    for (; k + 16 <= K; k += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + k), roundBf16(_mm512_loadu_ps(s + k)));
    for (; k < K; k++) d[k] = toBf16(s[k]);
    for (; k < Kp; k++) d[k] = 0;
  }
}
}  // namespace

bool usable() {
  __builtin_cpu_init();
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  const bool tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
  if (!tile || !bf16 || !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return false;
  // The OS must enable the tile state (XCR0 bits 17, 18) and grant it to this process.
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if (((lo >> 17) & 3) != 3) return false;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureTileData) == 0;
}

size_t packedLength(int N, int K) { return static_cast<size_t>(up(N, 32)) * up(K, 32); }

void pack(const float* W, int N, int K, uint16_t* out) {
  const int K32 = up(K, 32) / 32, groups = up(N, 32) / 16;
  for (int g = 0; g < groups; g++)
    for (int kb = 0; kb < K32; kb++) {
      uint16_t* tile = out + (static_cast<size_t>(g) * K32 + kb) * 512;
      for (int p = 0; p < 16; p++)
        for (int col = 0; col < 16; col++)
          for (int h = 0; h < 2; h++) {
            const int n = g * 16 + col, k = kb * 32 + 2 * p + h;
            tile[p * 32 + col * 2 + h] = n < N && k < K ? toBf16(W[static_cast<size_t>(n) * K + k]) : 0;
          }
    }
}

void gemm(int M, int N, int K, const float* A, const uint16_t* Bp, float beta, float* C) {
  const int Kp = up(K, 32), K32 = Kp / 32, Mp = up(M, 32), Np = up(N, 32);
  uint16_t* a = aBuf().get(static_cast<size_t>(Mp) * Kp);
  ThreadPool& tp = pool();
  const int rowTasks = static_cast<size_t>(M) * K < 65536 ? 1 : Mp / 32;
  tp.parallelFor(rowTasks, [&](int t, int) {
    roundRows(A, M, K, Kp, Mp * t / rowTasks, Mp * (t + 1) / rowTasks, a);
  });
  const int mTasks = (Mp + kMBlock - 1) / kMBlock, nTasks = (Np + kNBlock - 1) / kNBlock;
  const long strideA = static_cast<long>(Kp) * 2;
  tp.parallelFor(mTasks * nTasks, [&](int task, int) {
    _tile_loadconfig(&config());
    alignas(64) float buf[32 * 32];
    const int mt = task % mTasks, nt = task / mTasks;
    const int m1 = Mp < (mt + 1) * kMBlock ? Mp : (mt + 1) * kMBlock;
    const int n1 = Np < (nt + 1) * kNBlock ? Np : (nt + 1) * kNBlock;
    for (int n0 = nt * kNBlock; n0 < n1; n0 += 32) {
      const uint16_t* b0 = Bp + static_cast<size_t>(n0 / 16) * K32 * 512;
      const uint16_t* b1 = b0 + static_cast<size_t>(K32) * 512;
      for (int m0 = mt * kMBlock; m0 < m1 && m0 < M; m0 += 32) {
        const uint16_t* a0 = a + static_cast<size_t>(m0) * Kp;
        const uint16_t* a1 = a0 + static_cast<size_t>(16) * Kp;
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
        for (int kb = 0; kb < K32; kb++) {
          _tile_loadd(4, a0 + kb * 32, strideA);
          _tile_loadd(5, a1 + kb * 32, strideA);
          _tile_loadd(6, b0 + kb * 512, 64);
          _tile_loadd(7, b1 + kb * 512, 64);
          _tile_dpbf16ps(0, 4, 6);
          _tile_dpbf16ps(1, 4, 7);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, buf, 128);
        _tile_stored(1, buf + 16, 128);
        _tile_stored(2, buf + 16 * 32, 128);
        _tile_stored(3, buf + 16 * 32 + 16, 128);
        const int rows = M - m0 < 32 ? M - m0 : 32, cols = N - n0 < 32 ? N - n0 : 32;
        if (cols <= 0) continue;
        const __mmask16 lo = cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
        const __mmask16 hi = cols >= 32 ? 0xffff : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
        const __m512 vb = _mm512_set1_ps(beta);
        for (int r = 0; r < rows; r++) {
          float* c = C + static_cast<size_t>(m0 + r) * N + n0;
          __m512 x0 = _mm512_load_ps(buf + r * 32), x1 = _mm512_load_ps(buf + r * 32 + 16);
          if (beta != 0.f) {
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(lo, c), x0);
            x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(hi, c + 16), x1);
          }
          _mm512_mask_storeu_ps(c, lo, x0);
          _mm512_mask_storeu_ps(c + 16, hi, x1);
        }
      }
    }
  });
}

}  // namespace amx
}  // namespace distill
