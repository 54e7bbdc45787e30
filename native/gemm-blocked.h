// Packed, cache-blocked GEMM driver (GotoBLAS/BLIS-style loop nest) shared by the SIMD kernels:
// per K block it packs op(A) into MR-tall panels (one M super-block, reused by every N block) and
// op(B) into NR-wide panels (one N super-block), then hands MB x NB blocks of C to distill::pool()
// as dynamic tasks and calls the ISA's register-tile micro-kernel. Transposes are absorbed by the
// packing. Tiny products (smallGemm) and matrix-vector shapes (M or N == 1: gemv) skip the
// packing. It holds no SIMD code itself. Include it ONLY inside an ISA namespace's .cpp after
// defining GEMM_BLOCKED_NS (avx512, avx2, ...): every symbol then lives in that namespace, so code
// compiled with wider flags is never merged (ODR) into the path of a narrower CPU.
//
// The micro-kernel type Kern provides:
//   static constexpr int MR, NR;        register tile (rows, columns)
//   static constexpr int KC, MC, NC;    largest K block; rows / columns per packed super-block
//   static constexpr int MB, NB;        rows / columns of C per task (A panel in L1, B block in L2)
//   template <int R> static void packT(float* dst, const float* src, long ld, int rows, int kc);
//     dst[k*R + r] = src[r*ld + k] for r < rows, 0 for rows <= r < R (packTPortable does it)
//   static void tile(int kc, const float* ap, const float* bp, float* c, long ldc,
//                    float alpha, float beta);
//     c[i*ldc + j] = alpha * sum_k ap[k*MR+i] * bp[k*NR+j] + beta * c[..] for the full MR x NR
//     tile; beta == 0 must not read c. bp is 64-byte aligned (NR is a multiple of 16); ap is
//     only 4-byte aligned (MR*kc floats per panel).
// Scratch (the two packed buffers) is grow-only: no allocation once the largest shape has run.
// Not reentrant: one gemm at a time per ISA (kernels are called from the single JS thread), and
// never from inside a pool task.
#ifndef GEMM_BLOCKED_NS
#error "define GEMM_BLOCKED_NS (the ISA namespace) before including gemm-blocked.h"
#endif

#include <cstdlib>
#include <cstring>
#include <new>

#include "grow-buffer.h"
#include "threadpool.h"

namespace distill {
namespace GEMM_BLOCKED_NS {
namespace blocked {

// Grow-only 64-byte-aligned scratch: allocates on the first call of a larger shape, never after.
using Scratch = GrowBuffer<float>;

constexpr int kMaxThreads = 256;  // binding.cpp caps setThreads at 256
constexpr long kSmallWork = 1024;  // M*N*K at or below: direct loop, no packing (~16 x 8 x 8)
constexpr long kSerialWork = 64L * 64 * 64;  // M*N*K below: one thread
inline Scratch& bScratch() { static Scratch s; return s; }
inline Scratch& aScratch() { static Scratch s; return s; }

// Own min (not std::min): an inline std template instantiated under AVX-512 flags could be the
// copy the linker keeps for the AVX2 path too.
inline int imin(int a, int b) { return a < b ? a : b; }
inline int imax(int a, int b) { return a > b ? a : b; }
inline int ceilDiv(int a, int b) { return (a + b - 1) / b; }
inline long idx(long r, long ld, long c) { return r * ld + c; }

// C (M,N) = beta * C, or 0 when beta == 0 (C not read). Used for K == 0.
inline void scaleC(float* C, int M, int N, float beta) {
  for (long i = 0; i < static_cast<long>(M) * N; i++) C[i] = beta == 0.f ? 0.f : beta * C[i];
}

// Transposing pack, the portable version: rows [0, rows) x cols [0, kc) of a row-major block
// (row stride ld) -> dst[k*R + r], rows past `rows` zero-filled. Packs op(A) when A is stored
// (M,K) and op(B) when B is stored (N,K). Kern::packT may replace it with a SIMD transpose.
template <int R>
inline void packTPortable(float* dst, const float* src, long ld, int rows, int kc) {
  int k0 = 0;
  for (; k0 + 8 <= kc; k0 += 8) {  // 8-deep k chunks: reads stay in a few cache lines per row
    for (int r = 0; r < R; r++) {
      if (r < rows) {
        const float* s = src + r * ld + k0;
        for (int k = 0; k < 8; k++) dst[static_cast<long>(k0 + k) * R + r] = s[k];
      } else {
        for (int k = 0; k < 8; k++) dst[static_cast<long>(k0 + k) * R + r] = 0.f;
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int k = k0; k < kc; k++) dst[static_cast<long>(k) * R + r] = r < rows ? src[r * ld + k] : 0.f;
}

// Copying pack of `panels` consecutive R-wide panels: rows [0, kc) x cols [0, cols) of a
// row-major block (row stride ld) -> dst[p*R*kc + k*R + j] for column p*R + j, columns past
// `cols` zero-filled. Packs op(A) when A is stored (K,M) and op(B) when B is stored (K,N). Walks
// each source row across all panels (sequential reads) and prefetches a few rows ahead, since
// rows are ld apart (for N = 32000, a page each).
template <int R>
inline void packCopy(float* dst, const float* src, long ld, int cols, int panels, int kc) {
  constexpr int kAhead = 4;
  for (int k = 0; k < kc; k++) {
    const float* s = src + k * ld;
    if (k + kAhead < kc)
      for (int j = 0; j < cols; j += 16) __builtin_prefetch(s + kAhead * ld + j);
    for (int p = 0; p < panels; p++) {
      const float* sp = s + p * R;
      float* d = dst + static_cast<long>(p) * R * kc + static_cast<long>(k) * R;
      const int n = cols - p * R;
      if (n >= R) {
        std::memcpy(d, sp, sizeof(float) * R);  // fixed size: a few vector moves even for R = 6 or 14
      } else {
        int j = 0;
        for (; j < n; j++) d[j] = sp[j];
        for (; j < R; j++) d[j] = 0.f;
      }
    }
  }
}

// op(A) tiles [t0, t1) (rows t*MR .. , each MR tall) x cols [p0, p0+kc) -> ap + (t-t0)*MR*kc,
// ap[k*MR + i]; rows past M zero-filled.
template <class Kern>
inline void packA(float* ap, const float* A, bool transA, int M, int K, int t0, int t1, int p0, int kc) {
  constexpr int MR = Kern::MR;
  if (transA) {  // A stored (K,M): copy, all tiles of the range row by row
    packCopy<MR>(ap, A + idx(p0, M, t0 * MR), M, imin(t1 * MR, M) - t0 * MR, t1 - t0, kc);
  } else {  // A stored (M,K): transpose each tile
    for (int t = t0; t < t1; t++)
      Kern::template packT<MR>(ap + static_cast<long>(t - t0) * MR * kc, A + idx(t * MR, K, p0), K,
                               imin(MR, M - t * MR), kc);
  }
}

// op(B) panels [q0, q1) of columns j0 + q*NR .. x rows [p0, p0+kc) -> bp + (q-q0)*NR*kc,
// bp[k*NR + j]; columns past j0 + nc zero-filled.
template <class Kern>
inline void packB(float* bp, const float* B, bool transB, int N, int K, int j0, int nc, int q0, int q1,
                  int p0, int kc) {
  constexpr int NR = Kern::NR;
  if (!transB) {  // B stored (K,N): copy, all panels of the range row by row
    packCopy<NR>(bp, B + idx(p0, N, j0 + q0 * NR), N, imin(q1 * NR, nc) - q0 * NR, q1 - q0, kc);
  } else {  // B stored (N,K): transpose each panel
    for (int q = q0; q < q1; q++)
      Kern::template packT<NR>(bp + static_cast<long>(q - q0) * NR * kc, B + idx(j0 + q * NR, K, p0), K,
                               imin(NR, nc - q * NR), kc);
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
  constexpr int kJ = 256;  // columns per pass: the accumulator row lives on the stack
  float acc[kJ];
  for (int i = 0; i < M; i++) {
    for (int j0 = 0; j0 < N; j0 += kJ) {
      const int jn = imin(kJ, N - j0);
      for (int j = 0; j < jn; j++) acc[j] = 0.f;
      // i-k-j order: the j loop is contiguous in B (unless transB) and in acc, so it vectorizes.
      for (int k = 0; k < K; k++) {
        const float a = transA ? A[idx(k, M, i)] : A[idx(i, K, k)];
        if (!transB) {
          const float* b = B + idx(k, N, j0);
          for (int j = 0; j < jn; j++) acc[j] += a * b[j];
        } else {
          for (int j = 0; j < jn; j++) acc[j] += a * B[idx(j0 + j, K, k)];
        }
      }
      float* c = C + idx(i, N, j0);
      if (beta == 0.f) for (int j = 0; j < jn; j++) c[j] = alpha * acc[j];
      else for (int j = 0; j < jn; j++) c[j] = alpha * acc[j] + beta * c[j];
    }
  }
}


// Splits `n` items into `parts` near-equal ranges; returns the start of range `p`.
inline int splitAt(int n, int parts, int p) { return static_cast<int>(static_cast<long>(n) * p / parts); }

// dot(x, y) over n floats with 16 independent partial sums (vectorizes without reassociation).
inline float dot16(const float* x, const float* y, int n) {
  float part[16] = {};
  int k = 0;
  for (; k + 16 <= n; k += 16)
    for (int l = 0; l < 16; l++) part[l] += x[k + l] * y[k + l];
  float s = 0.f;
  for (; k < n; k++) s += x[k] * y[k];
  for (int l = 0; l < 16; l++) s += part[l];
  return s;
}

// Matrix-vector product for M == 1 or N == 1 (e.g. one decoding step): packing would copy the
// whole matrix to use 1/MR of each tile, so it is streamed once instead. v is the vector side
// (contiguous however it is stored), out the C row / column (stride 1 either way). With
// rowsContig the matrix is read as n contiguous rows of k (one dot per output); otherwise as k
// contiguous rows of n (out += v[p] * row p, through a stack accumulator). Outputs are split
// into nt near-equal ranges; this call does range t.
inline void gemv(bool rowsContig, int n, int k, float alpha, const float* mat, const float* v,
                 float beta, float* out, int t, int nt) {
  const int o0 = splitAt(n, nt, t), o1 = splitAt(n, nt, t + 1);
  if (rowsContig) {
    for (int o = o0; o < o1; o++) {
      const float s = alpha * dot16(mat + idx(o, k, 0), v, k);
      out[o] = beta == 0.f ? s : s + beta * out[o];
    }
    return;
  }
  constexpr int kJ = 512;
  float acc[kJ];
  for (int j0 = o0; j0 < o1; j0 += kJ) {
    const int jn = imin(kJ, o1 - j0);
    for (int j = 0; j < jn; j++) acc[j] = 0.f;
    for (int p = 0; p < k; p++) {
      const float a = v[p];
      const float* row = mat + idx(p, n, j0);
      for (int j = 0; j < jn; j++) acc[j] += a * row[j];
    }
    float* c = out + j0;
    if (beta == 0.f) for (int j = 0; j < jn; j++) c[j] = alpha * acc[j];
    else for (int j = 0; j < jn; j++) c[j] = alpha * acc[j] + beta * c[j];
  }
}

// The packed loop nest over K range [kOff, kOff + Kr) of op(A) op(B): C (M,N, row stride N) =
// alpha * that + beta * C. forTasks(n, f) runs f(task, thread) for n tasks (on the pool, or inline
// when nt == 1); ap / bp are the packing buffers (shared by the threads of this call).
template <class Kern, class ForTasks>
void blockedRange(bool transA, bool transB, int M, int N, int K, int kOff, int Kr, float alpha, const float* A,
                  const float* B, float beta, float* C, int nt, ForTasks&& forTasks, Scratch& aBuf, Scratch& bBuf) {
  constexpr int MR = Kern::MR, NR = Kern::NR;
#ifdef GEMM_TUNE
  static const int KCt = std::getenv("KC") ? std::atoi(std::getenv("KC")) : Kern::KC;
  static const int NCt = std::getenv("NC") ? std::atoi(std::getenv("NC")) : Kern::NC;
  static const int MCt = std::getenv("MC") ? std::atoi(std::getenv("MC")) : Kern::MC;
  static const int MBt = std::getenv("MB") ? std::atoi(std::getenv("MB")) : Kern::MB;
  static const int NBt = std::getenv("NB") ? std::atoi(std::getenv("NB")) : Kern::NB;
#else
  constexpr int KCt = Kern::KC, NCt = Kern::NC, MCt = Kern::MC, MBt = Kern::MB, NBt = Kern::NB;
#endif
  // K blocks of near-equal size, at most KC (KC = 320: K = 288 is one block, 768 is 3 x 256).
  const int kBlocks = ceilDiv(Kr, KCt);
  const int kcMax = ceilDiv(Kr, kBlocks);
  // M and N super-blocks of near-equal size (at most MC rows / NC columns, whole micro-tiles):
  // op(A) is packed one M super-block at a time and reused by every N super-block; op(B) one
  // N super-block at a time. Both packed buffers are shared by the threads and grow-only.
  const int mTilesAll = ceilDiv(M, MR);
  const int mBlocks = ceilDiv(mTilesAll, imax(1, MCt / MR));
  const int nPanelsAll = ceilDiv(N, NR);
  const int nBlocks = ceilDiv(nPanelsAll, imax(1, NCt / NR));
  const int ncMax = ceilDiv(nPanelsAll, nBlocks) * NR;
  float* ap = aBuf.get(static_cast<size_t>(ceilDiv(mTilesAll, mBlocks)) * MR * kcMax);
  float* bp = bBuf.get(static_cast<size_t>(kcMax) * ncMax);

  for (int kb = 0; kb < kBlocks; kb++) {
    const int p0 = kOff + splitAt(Kr, kBlocks, kb), kc = kOff + splitAt(Kr, kBlocks, kb + 1) - p0;
    const float betaK = kb == 0 ? beta : 1.f;
    for (int ib = 0; ib < mBlocks; ib++) {
      const int tA0 = splitAt(mTilesAll, mBlocks, ib), mTiles = splitAt(mTilesAll, mBlocks, ib + 1) - tA0;
      for (int jb = 0; jb < nBlocks; jb++) {
        const int j0 = splitAt(nPanelsAll, nBlocks, jb) * NR;
        const int nc = imin(N, splitAt(nPanelsAll, nBlocks, jb + 1) * NR) - j0;
        const int nPanels = ceilDiv(nc, NR);

        // Pack this super-block of op(B) and, with the first one, this super-block of op(A).
        const int aTasks = jb == 0 ? imin(mTiles, 8 * nt) : 0;
        const int bTasks = imin(nPanels, 8 * nt);
        forTasks(aTasks + bTasks, [&](int task, int) {
          if (task < aTasks) {
            const int a0 = splitAt(mTiles, aTasks, task), a1 = splitAt(mTiles, aTasks, task + 1);
            packA<Kern>(ap + static_cast<long>(a0) * MR * kc, A, transA, M, K, tA0 + a0, tA0 + a1, p0, kc);
          } else {
            const int bt = task - aTasks;
            const int b0 = splitAt(nPanels, bTasks, bt), b1 = splitAt(nPanels, bTasks, bt + 1);
            packB<Kern>(bp + static_cast<long>(b0) * NR * kc, B, transB, N, K, j0, nc, b0, b1, p0, kc);
          }
        });

        // Compute tasks: MB rows x NB columns of C. With several threads the chunks shrink until
        // there are >= 8 tasks per thread, so dynamic hand-out balances a descheduled thread.
        int mb = imin(mTiles, imax(1, MBt / MR)), nbp = imin(nPanels, imax(1, NBt / NR));
        if (nt > 1) {
          while (ceilDiv(mTiles, mb) * ceilDiv(nPanels, nbp) < 8 * nt && mb > 2) mb = ceilDiv(mb, 2);
          while (ceilDiv(mTiles, mb) * ceilDiv(nPanels, nbp) < 8 * nt && nbp > 1) nbp = ceilDiv(nbp, 2);
        }
        // Balance the chunks (e.g. 16 panels at NB = 12 panels: 2 x 8, not 12 + 4).
        mb = ceilDiv(mTiles, ceilDiv(mTiles, mb));
        nbp = ceilDiv(nPanels, ceilDiv(nPanels, nbp));
        const int mChunks = ceilDiv(mTiles, mb), nChunks = ceilDiv(nPanels, nbp);
        // Column-chunk-major order: consecutive tasks share one L2-sized block of packed B.
        forTasks(mChunks * nChunks, [&](int task, int) {
          const int nch = task / mChunks, mch = task % mChunks;
          const int t0 = mch * mb, t1 = imin(mTiles, t0 + mb);
          const int q0 = nch * nbp, q1 = imin(nPanels, q0 + nbp);
          for (int t = t0; t < t1; t++) {
            const int i0 = (tA0 + t) * MR, mr = imin(MR, M - i0);
            const float* at = ap + static_cast<long>(t) * MR * kc;
            // The A micro-panel stays in L1 while this chunk's B micro-panels stream past it.
            for (int q = q0; q < q1; q++) {
              const int jj = q * NR, nr = imin(NR, nc - jj);
              const float* bq = bp + static_cast<long>(q) * NR * kc;
              float* c = C + idx(i0, N, j0 + jj);
              if (mr == MR && nr == NR) Kern::tile(kc, at, bq, c, N, alpha, betaK);
              else edgeTile<Kern>(kc, at, bq, c, N, mr, nr, alpha, betaK);
            }
          }
        });
      }
    }
  }
}

// Long K into a small C (the head's dHidden: 262 x 128 over K = 32000; a weight gradient: 128 x
// 384 over K = 2048 tokens): the shared loop nest would hand out a few tiny tasks per K block and
// wait at two barriers per block, so instead each thread takes one contiguous K range with its
// own packing buffers, thread 0 into C (with beta), the others into private copies summed into C
// at the end. The sum order then depends on the thread count (as any parallel sum's does), not on
// timing: runs with the same threads give the same bits.
constexpr long kSplitMaxC = 512L * 1024;  // C elements: a private copy per thread stays cheap to sum

template <class Kern>
void gemmSplitK(ThreadPool& tp, int nt, bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                const float* B, float beta, float* C) {
  static Scratch aBufs[kMaxThreads], bBufs[kMaxThreads];
  static Scratch partial;
  const size_t MN = static_cast<size_t>(M) * N;
  float* part = partial.get(MN * (nt - 1));
  auto serial = [](int n, auto&& f) { for (int t = 0; t < n; t++) f(t, 0); };
  tp.parallelFor(nt, [&](int t, int thread) {
    const int k0 = splitAt(K, nt, t), k1 = splitAt(K, nt, t + 1);
    float* dst = t == 0 ? C : part + MN * (t - 1);
    if (k1 > k0) blockedRange<Kern>(transA, transB, M, N, K, k0, k1 - k0, alpha, A, B, t == 0 ? beta : 0.f, dst, 1,
                                    serial, aBufs[thread], bBufs[thread]);
    else if (t > 0) for (size_t i = 0; i < MN; i++) dst[i] = 0.f;
    else scaleC(C, M, N, beta);
  });
  // C += the other threads' partial products, rows split over the threads.
  tp.parallelFor(nt, [&](int t, int) {
    const size_t r0 = MN * t / nt, r1 = MN * (t + 1) / nt;
    for (int p = 0; p < nt - 1; p++) {
      const float* src = part + MN * p;
      for (size_t i = r0; i < r1; i++) C[i] += src[i];
    }
  });
}

template <class Kern>
void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, const float* B,
          float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { scaleC(C, M, N, beta); return; }
  const long work = static_cast<long>(M) * N * K;
  if (work <= kSmallWork) { smallGemm(transA, transB, M, N, K, alpha, A, B, beta, C); return; }
  ThreadPool& tp = pool();
  // Below ~64^3 multiply-adds a second thread costs more in hand-off than it saves.
  const int nt = work < kSerialWork ? 1 : imin(tp.threads(), kMaxThreads);

  // Runs tasks on the pool, or inline when this product is too small to share.
  auto forTasks = [&](int n, auto&& f) {
    if (nt == 1 || n == 1) for (int t = 0; t < n; t++) f(t, 0);
    else tp.parallelFor(n, f);
  };

  if (M == 1 || N == 1) {  // matrix-vector: C row = op(B)^T a, or C column = op(A) b
    // M == 1: out_j = sum_k a_k op(B)_kj; B stored (N,K) gives rows of k per output.
    // N == 1: out_i = sum_k op(A)_ik b_k; A stored (M,K) gives rows of k per output.
    const bool row = M == 1;
    const int n = row ? N : M;
    const int tasks = imin(nt * 4, ceilDiv(n, 64));
    forTasks(tasks, [&](int t, int) {
      if (row) gemv(transB, N, K, alpha, B, A, beta, C, t, tasks);
      else gemv(!transA, M, K, alpha, A, B, beta, C, t, tasks);
    });
    return;
  }
  if (nt > 1 && K >= 2 * nt * Kern::KC && static_cast<long>(M) * N <= kSplitMaxC &&
      static_cast<long>(M) * N * nt < static_cast<long>(K) * (M + N)) {
    gemmSplitK<Kern>(tp, nt, transA, transB, M, N, K, alpha, A, B, beta, C);
    return;
  }
  blockedRange<Kern>(transA, transB, M, N, K, 0, K, alpha, A, B, beta, C, nt, forTasks, aScratch(), bScratch());
}

}  // namespace blocked
}  // namespace GEMM_BLOCKED_NS
}  // namespace distill
