// Packed, cache-blocked GEMM driver (GotoBLAS/BLIS loop nest) shared by the SIMD kernels: packs
// op(B) into NR-wide K-block panels and op(A) into MR-tall panels (transposes absorbed there),
// splits the work over distill::pool(), and calls the ISA's register-tile micro-kernel.
// It holds no SIMD code itself. Include it ONLY inside an ISA namespace's .cpp after defining
// GEMM_BLOCKED_NS (avx512, avx2, ...): every symbol then lives in that namespace, so code compiled
// with wider flags is never merged (ODR) into the path of a narrower CPU.
//
// The micro-kernel type Kern provides:
//   static constexpr int MR, NR;            register tile (rows, columns)
//   static constexpr int KC, MC, NC;        largest K block, rows per A block, columns per B block
//   static void tile(int kc, const float* ap, const float* bp, float* c, long ldc,
//                    float alpha, float beta);
//     c[i*ldc + j] = alpha * sum_k ap[k*MR+i] * bp[k*NR+j] + beta * c[..] for the full MR x NR
//     tile; beta == 0 must not read c. ap/bp are 64-byte aligned.
// Not reentrant: one gemm at a time per ISA (kernels are called from the single JS thread), and
// never from inside a pool task.
#ifndef GEMM_BLOCKED_NS
#error "define GEMM_BLOCKED_NS (the ISA namespace) before including gemm-blocked.h"
#endif

#include <cstdlib>
#include <cstring>
#include <new>

#include "threadpool.h"

namespace distill {
namespace GEMM_BLOCKED_NS {
namespace blocked {

// Grow-only 64-byte-aligned scratch: allocates on the first call of a larger shape, never after.
struct Scratch {
  float* p = nullptr;
  size_t cap = 0;  // floats
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) throw std::bad_alloc();
      cap = n;
    }
    return p;
  }
};

constexpr int kMaxThreads = 256;  // binding.cpp caps setThreads at 256
constexpr long kSmallWork = 4096;         // M*N*K at or below: direct loop, no packing
constexpr long kSerialWork = 64L * 64 * 64;  // M*N*K below: one thread
inline Scratch& bScratch() { static Scratch s; return s; }
inline Scratch& aScratch(int thread) { static Scratch s[kMaxThreads]; return s[thread]; }

// Own min (not std::min): an inline std template instantiated under AVX-512 flags could be the
// copy the linker keeps for the AVX2 path too.
inline int imin(int a, int b) { return a < b ? a : b; }
inline int ceilDiv(int a, int b) { return (a + b - 1) / b; }
inline long idx(long r, long ld, long c) { return r * ld + c; }

// C (M,N) = beta * C, or 0 when beta == 0 (C not read). Used for K == 0.
inline void scaleC(float* C, int M, int N, float beta) {
  for (long i = 0; i < static_cast<long>(M) * N; i++) C[i] = beta == 0.f ? 0.f : beta * C[i];
}

// op(A) rows [i0, i0+mr) x cols [p0, p0+kc) -> ap[k*MR + i], rows past mr zero-filled.
template <int MR>
inline void packA(float* ap, const float* A, bool transA, int M, int K, int i0, int mr, int p0, int kc) {
  if (transA) {  // A stored (K,M): each k is a contiguous run of rows
    for (int k = 0; k < kc; k++) {
      const float* src = A + idx(p0 + k, M, i0);
      float* dst = ap + static_cast<long>(k) * MR;
      int i = 0;
      for (; i < mr; i++) dst[i] = src[i];
      for (; i < MR; i++) dst[i] = 0.f;
    }
  } else {  // A stored (M,K): gather one value of each row per k
    if (mr == MR) {
      const float* rows[MR];
      for (int i = 0; i < MR; i++) rows[i] = A + idx(i0 + i, K, p0);
      for (int k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++) ap[static_cast<long>(k) * MR + i] = rows[i][k];
    } else {
      for (int k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++)
          ap[static_cast<long>(k) * MR + i] = i < mr ? A[idx(i0 + i, K, p0 + k)] : 0.f;
    }
  }
}

// op(B) rows [p0, p0+kc) x cols [j0, j0+nr) -> bp[k*NR + j], columns past nr zero-filled.
template <int NR>
inline void packB(float* bp, const float* B, bool transB, int N, int K, int j0, int nr, int p0, int kc) {
  if (!transB) {  // B stored (K,N): contiguous copy of NR per k
    for (int k = 0; k < kc; k++) {
      const float* src = B + idx(p0 + k, N, j0);
      float* dst = bp + static_cast<long>(k) * NR;
      if (nr == NR) {
        for (int j = 0; j < NR; j++) dst[j] = src[j];
      } else {
        int j = 0;
        for (; j < nr; j++) dst[j] = src[j];
        for (; j < NR; j++) dst[j] = 0.f;
      }
    }
  } else {  // B stored (N,K): transpose, in 8-deep k chunks so reads stay in a few cache lines
    int k0 = 0;
    for (; k0 + 8 <= kc; k0 += 8) {
      for (int j = 0; j < NR; j++) {
        if (j < nr) {
          const float* src = B + idx(j0 + j, K, p0 + k0);
          for (int k = 0; k < 8; k++) bp[static_cast<long>(k0 + k) * NR + j] = src[k];
        } else {
          for (int k = 0; k < 8; k++) bp[static_cast<long>(k0 + k) * NR + j] = 0.f;
        }
      }
    }
    for (int j = 0; j < NR; j++)
      for (int k = k0; k < kc; k++)
        bp[static_cast<long>(k) * NR + j] = j < nr ? B[idx(j0 + j, K, p0 + k)] : 0.f;
  }
}

// One edge tile (mr < MR or nr < NR): full tile into a local buffer, then merge what fits.
template <class Kern>
inline void edgeTile(int kc, const float* ap, const float* bp, float* c, long ldc, int mr, int nr,
                     float alpha, float beta) {
  alignas(64) float tmp[Kern::MR * Kern::NR];
  Kern::tile(kc, ap, bp, tmp, Kern::NR, 1.f, 0.f);
  for (int i = 0; i < mr; i++) {
    float* ci = c + static_cast<long>(i) * ldc;
    const float* ti = tmp + i * Kern::NR;
    if (beta == 0.f) for (int j = 0; j < nr; j++) ci[j] = alpha * ti[j];
    else for (int j = 0; j < nr; j++) ci[j] = alpha * ti[j] + beta * ci[j];
  }
}

// Tiny products (a few thousand multiply-adds): a direct loop beats packing two panels.
inline void smallGemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                      const float* B, float beta, float* C) {
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < N; j++) {
      float s = 0.f;
      for (int k = 0; k < K; k++)
        s += (transA ? A[idx(k, M, i)] : A[idx(i, K, k)]) * (transB ? B[idx(j, K, k)] : B[idx(k, N, j)]);
      float* c = C + idx(i, N, j);
      *c = beta == 0.f ? alpha * s : alpha * s + beta * *c;
    }
  }
}

// Splits `n` items into `parts` near-equal ranges; returns the start of range `p`.
inline int splitAt(int n, int parts, int p) { return static_cast<int>(static_cast<long>(n) * p / parts); }

template <class Kern>
void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, const float* B,
          float beta, float* C) {
  constexpr int MR = Kern::MR, NR = Kern::NR;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { scaleC(C, M, N, beta); return; }
  const long work = static_cast<long>(M) * N * K;
  if (work <= kSmallWork) { smallGemm(transA, transB, M, N, K, alpha, A, B, beta, C); return; }
  ThreadPool& tp = pool();
  // Below ~64^3 multiply-adds a second thread costs more in hand-off than it saves.
  const int nt = work < kSerialWork ? 1 : imin(tp.threads(), kMaxThreads);

  // Runs tasks on the pool, or inline when this product is too small to share.
  auto forTasks = [&](int n, auto&& f) {
    if (nt == 1) for (int t = 0; t < n; t++) f(t, 0);
    else tp.parallelFor(n, f);
  };

  // K blocks of near-equal size, at most KC (e.g. KC = 320: K = 288 is one block, 768 is 3 x 256).
#ifdef GEMM_TUNE
  static const int KCt = std::getenv("KC") ? std::atoi(std::getenv("KC")) : Kern::KC;
  static const int MCt = std::getenv("MC") ? std::atoi(std::getenv("MC")) : Kern::MC;
  static const int NCt = std::getenv("NC") ? std::atoi(std::getenv("NC")) : Kern::NC;
#else
  constexpr int KCt = Kern::KC, MCt = Kern::MC, NCt = Kern::NC;
#endif
  const int kBlocks = ceilDiv(K, KCt);
  const int kcMax = ceilDiv(K, kBlocks);
  // N blocks (B block kcMax x ncMax shared by all threads, sized for L2/L3).
  const int nBlocks = ceilDiv(N, NCt);
  const int ncMax = ceilDiv(ceilDiv(N, nBlocks), NR) * NR;
  // M: tiles of MR rows grouped into blocks of ~MC rows; the block count is a multiple of the
  // thread count so every thread gets the same number of equal blocks.
  const int mTiles = ceilDiv(M, MR);
  int mBlocks = imin(mTiles, ceilDiv(ceilDiv(mTiles * MR, MCt), nt) * nt);
  const int mcTilesMax = ceilDiv(mTiles, mBlocks);

  float* bp = bScratch().get(static_cast<size_t>(kcMax) * ncMax);
  for (int t = 0; t < nt; t++) aScratch(t).get(static_cast<size_t>(kcMax) * mcTilesMax * MR);

  for (int jb = 0; jb < nBlocks; jb++) {
    const int j0 = splitAt(N, nBlocks, jb), nc = splitAt(N, nBlocks, jb + 1) - j0;
    const int nPanels = ceilDiv(nc, NR);
    // When M has fewer blocks than 2 per thread, also split the columns among tasks.
    int nSplits = 1;
    if (mBlocks < 2 * nt) nSplits = imin(nPanels, ceilDiv(2 * nt, mBlocks));
    const int tasks = mBlocks * nSplits;

    for (int kb = 0; kb < kBlocks; kb++) {
      const int p0 = splitAt(K, kBlocks, kb), kc = splitAt(K, kBlocks, kb + 1) - p0;
      const float betaK = kb == 0 ? beta : 1.f;

      const int packTasks = imin(nPanels, 8 * nt);
      forTasks(packTasks, [&](int task, int) {
        for (int q = splitAt(nPanels, packTasks, task); q < splitAt(nPanels, packTasks, task + 1); q++)
          packB<NR>(bp + static_cast<long>(q) * NR * kc, B, transB, N, K, j0 + q * NR,
                    imin(NR, nc - q * NR), p0, kc);
      });

      forTasks(tasks, [&](int task, int thread) {
        const int mb = task / nSplits, ns = task % nSplits;
        const int t0 = splitAt(mTiles, mBlocks, mb), t1 = splitAt(mTiles, mBlocks, mb + 1);
        const int q0 = splitAt(nPanels, nSplits, ns), q1 = splitAt(nPanels, nSplits, ns + 1);
        float* ap = aScratch(thread).p;
        for (int t = t0; t < t1; t++) {
          const int i0 = t * MR;
          packA<MR>(ap + static_cast<long>(t - t0) * MR * kc, A, transA, M, K, i0, imin(MR, M - i0), p0, kc);
        }
        for (int q = q0; q < q1; q++) {
          const int jj = q * NR, nr = imin(NR, nc - jj);
          const float* bq = bp + static_cast<long>(q) * NR * kc;
          for (int t = t0; t < t1; t++) {
            const int i0 = t * MR, mr = imin(MR, M - i0);
            const float* at = ap + static_cast<long>(t - t0) * MR * kc;
            float* c = C + idx(i0, N, j0 + jj);
            if (mr == MR && nr == NR) Kern::tile(kc, at, bq, c, N, alpha, betaK);
            else edgeTile<Kern>(kc, at, bq, c, N, mr, nr, alpha, betaK);
          }
        }
      });
    }
  }
}

}  // namespace blocked
}  // namespace GEMM_BLOCKED_NS
}  // namespace distill
