// Causal GQA attention for small heads (HS <= NV*W, NV <= 4: HS up to 64 on AVX-512, 32 on
// AVX2; a last partial vector is masked) and T up to a few thousand: one task per (batch, head) in the forward and per (batch, kv
// head) in the backward, so a task owns its dk/dv rows outright (no reduction across tasks).
// K (and V) are packed transposed once per task; query rows go in blocks of 4 or 8 with the whole
// score row in scratch (exact softmax, no online rescaling); S = QKᵀ, dP = dO·Vᵀ, P·V, dS·K and
// the dk/dv updates are register-blocked. Included by attention-impl.h, which picks this path.
#pragma once
#include <cmath>
#include <type_traits>

#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace attn {
using namespace simd;

struct Dims {
  int B, Tq, Tk, NH, NKV, HS;
  int off;        // Tk - Tq: absolute position of query 0
  int grp;        // NH / NKV query heads per kv head
  size_t qRow;    // NH * HS: stride between time steps of q/out/dOut
  size_t kvRow;   // NKV * HS: stride between time steps of k/v
  float scale;    // 1/sqrt(HS)
};

inline Dims dims(int B, int Tq, int Tk, int NH, int NKV, int HS) {
  return Dims{B, Tq, Tk, NH, NKV, HS, Tk - Tq, NH / NKV, static_cast<size_t>(NH) * HS,
              static_cast<size_t>(NKV) * HS, 1.f / std::sqrt(static_cast<float>(HS))};
}

constexpr int kKeyVecs = W >= 16 ? 4 : 2;   // key vectors per score micro-tile (16 or 8 registers)
constexpr int kMaxRows = 8;
// Query rows per block: 8 when their HS-wide vectors fit in 32 registers (AVX-512, HS <= 48),
// halving how often P·V and the dk/dv updates stream the keys; else 4.
template <int NV>
constexpr int rowsPerBlock() { return W >= 16 && NV <= 3 ? 8 : 4; }

inline size_t roundUpW(int n) { return (static_cast<size_t>(n) + W - 1) / W * W; }

// Vector x (< NV) of an HS-float row whose last vector holds `tail` (1..W) floats.
template <int NV>
inline V loadRowVec(const float* p, int x, int tail) {
  return x == NV - 1 && tail < W ? loadN(p + x * W, tail) : load(p + x * W);
}
template <int NV>
inline void storeRowVec(float* p, int x, V v, int tail) {
  if (x == NV - 1 && tail < W) storeN(p + x * W, v, tail);
  else store(p + x * W, v);
}

// dst (HS, ld) = rows [0, n) of src (stride `stride`) transposed; columns n..roundUpW(n) are 0.
inline void packTransposed(float* dst, size_t ld, const float* src, size_t stride, int n, int HS) {
  const VI idx = strideIndex(static_cast<int>(stride));
  int j = 0;
  for (; j + W <= n; j += W) {
    const float* s = src + static_cast<size_t>(j) * stride;
    for (int d = 0; d < HS; d++) store(dst + static_cast<size_t>(d) * ld + j, gather(s + d, idx));
  }
  if (j < n) {
    for (int d = 0; d < HS; d++) {
      float* o = dst + static_cast<size_t>(d) * ld + j;
      for (int l = 0; l < W; l++) o[l] = j + l < n ? src[static_cast<size_t>(j + l) * stride + d] : 0.f;
    }
  }
}

// S[r*ld + j] = scale * (rows[r] . colsT[:, j]) for r < R, j < nvec*W; colsT is (HS, ld).
template <int R>
inline void scoreRows(float* S, size_t ld, const float* const* rows, const float* colsT, int nvec, int HS, float scale) {
  if constexpr (R > 4) {  // micro-tiles of 4 rows (R*kKeyVecs accumulators must fit in registers)
    scoreRows<4>(S, ld, rows, colsT, nvec, HS, scale);
    scoreRows<R - 4>(S + 4 * ld, ld, rows + 4, colsT, nvec, HS, scale);
    return;
  }
  const V sc = set1(scale);
  int c = 0;
  for (; c + kKeyVecs <= nvec; c += kKeyVecs) {
    V a[R][kKeyVecs];
    for (int r = 0; r < R; r++) for (int x = 0; x < kKeyVecs; x++) a[r][x] = zero();
    const float* col = colsT + static_cast<size_t>(c) * W;
    for (int d = 0; d < HS; d++) {
      V kv[kKeyVecs];
      for (int x = 0; x < kKeyVecs; x++) kv[x] = load(col + static_cast<size_t>(d) * ld + x * W);
      for (int r = 0; r < R; r++) {
        const V qb = set1(rows[r][d]);
        for (int x = 0; x < kKeyVecs; x++) a[r][x] = fmadd(qb, kv[x], a[r][x]);
      }
    }
    for (int r = 0; r < R; r++)
      for (int x = 0; x < kKeyVecs; x++) store(S + r * ld + static_cast<size_t>(c + x) * W, mul(a[r][x], sc));
  }
  for (; c < nvec; c++) {
    V a[R];
    for (int r = 0; r < R; r++) a[r] = zero();
    const float* col = colsT + static_cast<size_t>(c) * W;
    for (int d = 0; d < HS; d++) {
      const V kv = load(col + static_cast<size_t>(d) * ld);
      for (int r = 0; r < R; r++) a[r] = fmadd(set1(rows[r][d]), kv, a[r]);
    }
    for (int r = 0; r < R; r++) store(S + r * ld + static_cast<size_t>(c) * W, mul(a[r], sc));
  }
}

// dst[r] (HS floats) = scale[r] * sum_{j < nk} P[r*ld + j] * src_j for R rows of P and key rows
// src_j (stride `stride`, last vector `tail` floats). The accumulators stay local so they live in
// registers (an array out-parameter made GCC keep them on the stack).
template <int NV, int R>
inline void mixRows(float* const* dst, const float* scale, const float* P, size_t ld, const float* src, size_t stride,
                    int nk, int tail) {
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int x = 0; x < NV; x++) acc[r][x] = zero();
  for (int j = 0; j < nk; j++) {
    const float* s = src + static_cast<size_t>(j) * stride;
    V sv[NV];
#pragma GCC unroll 4
    for (int x = 0; x < NV; x++) sv[x] = loadRowVec<NV>(s, x, tail);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const V p = set1(P[r * ld + j]);
#pragma GCC unroll 4
      for (int x = 0; x < NV; x++) acc[r][x] = fmadd(p, sv[x], acc[r][x]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    const V sc = set1(scale[r]);
#pragma GCC unroll 4
    for (int x = 0; x < NV; x++) storeRowVec<NV>(dst[r], x, mul(acc[r][x], sc), tail);
  }
}

// dst_j[x] += sum_r P[r*ld + j] * rows[r][x] for j < nk; dst rows are NV*W floats apart (padded),
// rows[r] hold HS floats (last vector `tail`; the padding lanes of dst only ever add 0).
template <int NV, int R>
inline void scatterRows(float* dst, const float* P, size_t ld, const float* const* rows, int nk, int tail) {
  V rv[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int x = 0; x < NV; x++) rv[r][x] = loadRowVec<NV>(rows[r], x, tail);
  for (int j = 0; j < nk; j++) {
    float* o = dst + static_cast<size_t>(j) * NV * W;
    V a[NV];
#pragma GCC unroll 4
    for (int x = 0; x < NV; x++) a[x] = load(o + x * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const V p = set1(P[r * ld + j]);
#pragma GCC unroll 4
      for (int x = 0; x < NV; x++) a[x] = fmadd(p, rv[r][x], a[x]);
    }
#pragma GCC unroll 4
    for (int x = 0; x < NV; x++) store(o + x * W, a[x]);
  }
}

// Forward of R query rows i0.. of head (b, h); Kt (HS, ld) packed keys of its kv head,
// S (R, ld) scratch. Row r sees keys [0, off + i0 + r].
template <int NV, int R>
inline void forwardRowBlock(const Dims& D, float* out, float* lse, const float* q, const float* Kt, size_t ld,
                            const float* vb, float* S, int b, int h, int i0) {
  const int HS = D.HS, tail = HS - (NV - 1) * W;
  const int keyEnd = D.off + i0 + R;
  const int nvec = (keyEnd + W - 1) / W;
  const float* rows[R];
  for (int r = 0; r < R; r++) rows[r] = q + (static_cast<size_t>(b) * D.Tq + i0 + r) * D.qRow + static_cast<size_t>(h) * HS;
  scoreRows<R>(S, ld, rows, Kt, nvec, HS, D.scale);
  float inv[R];
  for (int r = 0; r < R; r++) {
    float* s = S + r * ld;
    const int n = D.off + i0 + r + 1;
    V mx = set1(-INFINITY);
    for (int j = 0; j < n; j += W) mx = max(mx, loadNOr(s + j, n - j < W ? n - j : W, -INFINITY));
    const float m = hmax(mx);
    const V vm = set1(m);
    V l = zero();
    int j = 0;
    for (; j < n; j += W) {
      const V p = keepFirst(exp(sub(load(s + j), vm)), n - j < W ? n - j : W);
      l = add(l, p);
      store(s + j, p);
    }
    for (; j < nvec * W; j += W) store(s + j, zero());
    const float sum = hsum(l);
    lse[(static_cast<size_t>(b) * D.NH + h) * D.Tq + i0 + r] = m + std::log(sum);
    inv[r] = 1.f / sum;
  }
  float* dst[R];
  for (int r = 0; r < R; r++) dst[r] = out + (static_cast<size_t>(b) * D.Tq + i0 + r) * D.qRow + static_cast<size_t>(h) * HS;
  mixRows<NV, R>(dst, inv, S, ld, vb, D.kvRow, keyEnd, tail);
}

// The forward of one (b, h): every query row. Scratch: (HS + kMaxRows) * roundUpW(Tk) floats.
template <int NV>
inline void forwardHead(const Dims& D, float* out, float* lse, const float* q, const float* k, const float* v,
                        int b, int h, float* scratch) {
  const int HS = D.HS;
  const size_t ld = roundUpW(D.Tk);
  float* Kt = scratch;
  float* S = Kt + static_cast<size_t>(HS) * ld;
  const size_t kvOff = static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  packTransposed(Kt, ld, k + kvOff, D.kvRow, D.Tk, HS);
  int i0 = 0;
  constexpr int R = rowsPerBlock<NV>();
  for (; i0 + R <= D.Tq; i0 += R) forwardRowBlock<NV, R>(D, out, lse, q, Kt, ld, v + kvOff, S, b, h, i0);
  for (; i0 < D.Tq; i0++) forwardRowBlock<NV, 1>(D, out, lse, q, Kt, ld, v + kvOff, S, b, h, i0);
}

// Backward of R query rows of head (b, h): P and dS rows in scratch, dq written, dk/dv
// accumulated into the task's (Tk, HS) buffers dKa/dVa (dk without the scale).
template <int NV, int R>
inline void backwardRowBlock(const Dims& D, float* dq, float* dKa, float* dVa, const float* dOut, const float* q,
                             const float* out, const float* lse, const float* Kt, const float* Vt, size_t ld,
                             const float* kb, float* P, float* dS, int b, int h, int i0) {
  const int HS = D.HS, tail = HS - (NV - 1) * W;
  const int keyEnd = D.off + i0 + R;
  const int nvec = (keyEnd + W - 1) / W;
  const float* qr[R];
  const float* dor[R];
  for (int r = 0; r < R; r++) {
    const size_t o = (static_cast<size_t>(b) * D.Tq + i0 + r) * D.qRow + static_cast<size_t>(h) * HS;
    qr[r] = q + o;
    dor[r] = dOut + o;
  }
  scoreRows<R>(P, ld, qr, Kt, nvec, HS, D.scale);   // scores
  scoreRows<R>(dS, ld, dor, Vt, nvec, HS, 1.f);     // dP = dOut . v
  for (int r = 0; r < R; r++) {
    const size_t o = (static_cast<size_t>(b) * D.Tq + i0 + r) * D.qRow + static_cast<size_t>(h) * HS;
    const V Dr = set1(dot(dOut + o, out + o, HS));
    const V lr = set1(lse[(static_cast<size_t>(b) * D.NH + h) * D.Tq + i0 + r]);
    const int n = D.off + i0 + r + 1;
    float* pr = P + r * ld;
    float* dr = dS + r * ld;
    for (int j = 0; j < nvec * W; j += W) {
      const int c = n - j < 0 ? 0 : (n - j < W ? n - j : W);
      const V p = keepFirst(exp(sub(load(pr + j), lr)), c);
      store(pr + j, p);
      store(dr + j, mul(p, sub(load(dr + j), Dr)));
    }
  }
  float* dst[R];
  float scale[R];
  for (int r = 0; r < R; r++) {
    dst[r] = dq + (static_cast<size_t>(b) * D.Tq + i0 + r) * D.qRow + static_cast<size_t>(h) * HS;
    scale[r] = D.scale;
  }
  mixRows<NV, R>(dst, scale, dS, ld, kb, D.kvRow, keyEnd, tail);
  scatterRows<NV, R>(dVa, P, ld, dor, keyEnd, tail);
  scatterRows<NV, R>(dKa, dS, ld, qr, keyEnd, tail);
}

// The backward of one (b, kv head) over its group's query heads. Scratch:
// 2*HS*ld (Kt, Vt) + 2*Tk*NV*W (dk, dv sums) + 2*kMaxRows*ld (P, dS) floats, ld = roundUpW(Tk).
template <int NV>
inline void backwardKvHead(const Dims& D, float* dq, float* dk, float* dv, const float* dOut, const float* q,
                           const float* k, const float* v, const float* out, const float* lse, int b, int kvh,
                           float* scratch) {
  const int HS = D.HS, tail = HS - (NV - 1) * W;
  constexpr size_t HP = static_cast<size_t>(NV) * W;  // padded row of the dk/dv sums
  const size_t ld = roundUpW(D.Tk);
  float* Kt = scratch;
  float* Vt = Kt + static_cast<size_t>(HS) * ld;
  float* dKa = Vt + static_cast<size_t>(HS) * ld;
  float* dVa = dKa + static_cast<size_t>(D.Tk) * HP;
  float* P = dVa + static_cast<size_t>(D.Tk) * HP;
  float* dS = P + static_cast<size_t>(kMaxRows) * ld;
  const size_t kvOff = static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(kvh) * HS;
  packTransposed(Kt, ld, k + kvOff, D.kvRow, D.Tk, HS);
  packTransposed(Vt, ld, v + kvOff, D.kvRow, D.Tk, HS);
  for (size_t i = 0; i < 2 * static_cast<size_t>(D.Tk) * HP; i += W) store(dKa + i, zero());
  for (int hh = 0; hh < D.grp; hh++) {
    const int h = kvh * D.grp + hh;
    int i0 = 0;
    constexpr int R = rowsPerBlock<NV>();
    for (; i0 + R <= D.Tq; i0 += R)
      backwardRowBlock<NV, R>(D, dq, dKa, dVa, dOut, q, out, lse, Kt, Vt, ld, k + kvOff, P, dS, b, h, i0);
    for (; i0 < D.Tq; i0++)
      backwardRowBlock<NV, 1>(D, dq, dKa, dVa, dOut, q, out, lse, Kt, Vt, ld, k + kvOff, P, dS, b, h, i0);
  }
  const V sc = set1(D.scale);
  for (int j = 0; j < D.Tk; j++) {
    float* dkr = dk + kvOff + static_cast<size_t>(j) * D.kvRow;
    float* dvr = dv + kvOff + static_cast<size_t>(j) * D.kvRow;
    for (int x = 0; x < NV; x++) {
      storeRowVec<NV>(dkr, x, mul(load(dKa + j * HP + x * W), sc), tail);
      storeRowVec<NV>(dvr, x, load(dVa + j * HP + x * W), tail);
    }
  }
}

inline size_t rowsForwardScratch(const Dims& D) {
  return sizeof(float) * (static_cast<size_t>(D.HS) + kMaxRows) * roundUpW(D.Tk);
}
inline size_t rowsBackwardScratch(const Dims& D) {
  const size_t ld = roundUpW(D.Tk);
  return sizeof(float) * (2 * static_cast<size_t>(D.HS) * ld + 2 * static_cast<size_t>(D.Tk) * roundUpW(D.HS) + 2 * kMaxRows * ld);
}

// The rows path handles HS <= NV*W with NV in 1..4 (vector ISAs only); 0 = use the other path.
inline int rowsVectors(int HS) {
  if (W < 8 || HS < 1) return 0;
  const int nv = (HS + W - 1) / W;
  return nv <= 4 ? nv : 0;
}

template <class F>
inline void withVectors(int nv, F&& f) {
  switch (nv) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    default: f(std::integral_constant<int, 4>{}); break;
  }
}

}  // namespace attn
}  // namespace DISTILL_ISA_NS
}  // namespace distill
