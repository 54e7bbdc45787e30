// Causal grouped-query attention, written once over simd::V (W lanes). Small heads (HS up to 4
// vectors: 64 on AVX-512, 32 on AVX2, the training shapes) take the row-block path of
// attention-rows-impl.h when Tq > 4.
// Other heads, flash style: forward per (batch, head, block of W queries) an online softmax over key
// blocks of kKeyBlock, queries in vector lanes; saves lse. KV-cache steps (Tq <= 4): one query row
// per task instead. Backward: D_i = rowsum(dOut*out), then dq per query block (queries in lanes)
// and dk/dv per key block (keys in lanes, all heads of the kv group), probabilities recomputed
// from lse. No (T,T) matrix anywhere. Thread count never changes results.
#pragma once
#include <cmath>

#include "kernels/attention-rows-impl.h"
#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace attn {
using namespace simd;

constexpr int kKeyBlock = 64;  // keys per online-softmax step in the forward

// dst[d*W + l] = src[l*stride + d] * by for l < n; lanes n..W-1 are zero.
inline void transposeIn(float* dst, const float* src, size_t stride, int n, int HS, float by) {
  for (int d = 0; d < HS; d++) {
    float* row = dst + static_cast<size_t>(d) * W;
    for (int l = 0; l < n; l++) row[l] = src[static_cast<size_t>(l) * stride + d] * by;
    for (int l = n; l < W; l++) row[l] = 0.f;
  }
}

// dst[l*stride + d] = srcT[d*W + l] * laneScale[l] for l < n.
inline void transposeOut(float* dst, size_t stride, const float* srcT, int n, int HS, const float* laneScale) {
  for (int l = 0; l < n; l++) {
    float* row = dst + static_cast<size_t>(l) * stride;
    const float s = laneScale[l];
    for (int d = 0; d < HS; d++) row[d] = srcT[static_cast<size_t>(d) * W + l] * s;
  }
}

inline void zeroBlock(float* p, int HS) {
  for (int d = 0; d < HS; d++) store(p + static_cast<size_t>(d) * W, zero());
}

// S[g*W + lane] = sum_d rows[g][d] * T[d][lane] for G rows of stride `stride`.
template <int G>
inline void dotRowsT(float* S, const float* T, const float* rows, size_t stride, int HS) {
  V a[G];
  for (int g = 0; g < G; g++) a[g] = zero();
  for (int d = 0; d < HS; d++) {
    const V t = load(T + static_cast<size_t>(d) * W);
    for (int g = 0; g < G; g++) a[g] = fmadd(set1(rows[g * stride + d]), t, a[g]);
  }
  for (int g = 0; g < G; g++) store(S + g * W, a[g]);
}

// Two of the above in one sweep over d (2G independent FMA chains instead of G):
// S[g] = rowsA[g] . TA, S[G + g] = rowsB[g] . TB
template <int G>
inline void dotRowsT2(float* S, const float* TA, const float* rowsA, const float* TB, const float* rowsB,
                      size_t stride, int HS) {
  V a[G], b[G];
  for (int g = 0; g < G; g++) a[g] = b[g] = zero();
  for (int d = 0; d < HS; d++) {
    const V ta = load(TA + static_cast<size_t>(d) * W), tb = load(TB + static_cast<size_t>(d) * W);
    for (int g = 0; g < G; g++) {
      a[g] = fmadd(set1(rowsA[g * stride + d]), ta, a[g]);
      b[g] = fmadd(set1(rowsB[g * stride + d]), tb, b[g]);
    }
  }
  for (int g = 0; g < G; g++) {
    store(S + g * W, a[g]);
    store(S + (G + g) * W, b[g]);
  }
}

// acc[d][lane] += sum_g rows[g][d] * P[g][lane]; two partial sums halve the FMA chain per d.
template <int G>
inline void accumRowsT(float* acc, const float* P, const float* rows, size_t stride, int HS) {
  V p[G];
  for (int g = 0; g < G; g++) p[g] = load(P + g * W);
  for (int d = 0; d < HS; d++) {
    V a = load(acc + static_cast<size_t>(d) * W), c = zero();
    for (int g = 0; g < G; g += 2) {
      a = fmadd(set1(rows[g * stride + d]), p[g], a);
      if (g + 1 < G) c = fmadd(set1(rows[(g + 1) * stride + d]), p[g + 1], c);
    }
    store(acc + static_cast<size_t>(d) * W, G > 1 ? add(a, c) : a);
  }
}

// dotRowsT2 / accumRowsT for g <= G rows: the G-wide kernel for a full group, one row at a time
// for the tail of a block (score rows at S + x*W, second set at S + (G+x)*W).
template <int G>
inline void dotRowsT2Upto(int g, float* S, const float* TA, const float* rowsA, const float* TB, const float* rowsB,
                          size_t stride, int HS) {
  if (g == G) return dotRowsT2<G>(S, TA, rowsA, TB, rowsB, stride, HS);
  for (int x = 0; x < g; x++) {
    dotRowsT<1>(S + x * W, TA, rowsA + x * stride, stride, HS);
    dotRowsT<1>(S + (G + x) * W, TB, rowsB + x * stride, stride, HS);
  }
}
template <int G>
inline void accumRowsTUpto(int g, float* acc, const float* P, const float* rows, size_t stride, int HS) {
  if (g == G) return accumRowsT<G>(acc, P, rows, stride, HS);
  for (int x = 0; x < g; x++) accumRowsT<1>(acc, P + x * W, rows + x * stride, stride, HS);
}

// One (b, h, query block at i0) of the forward. Scratch: 2*HS*W + kKeyBlock*W + 2*W floats.
inline void forwardBlock(const Dims& D, float* out, float* lse, const float* q, const float* k, const float* v,
                         int b, int h, int i0, float* scratch) {
  const int HS = D.HS, nq = D.Tq - i0 < W ? D.Tq - i0 : W;
  float* Qt = scratch;
  float* acc = Qt + static_cast<size_t>(HS) * W;
  float* S = acc + static_cast<size_t>(HS) * W;
  float* lanes = S + static_cast<size_t>(kKeyBlock) * W;
  const size_t qOff = (static_cast<size_t>(b) * D.Tq + i0) * D.qRow + static_cast<size_t>(h) * HS;
  const float* kb = k + static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  const float* vb = v + static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  transposeIn(Qt, q + qOff, D.qRow, nq, HS, D.scale);
  zeroBlock(acc, HS);
  const int p0 = D.off + i0;  // absolute position of lane 0
  const V pos = add(set1(static_cast<float>(p0)), iota());
  const int keyEnd = p0 + nq;
  const V ninf = set1(-INFINITY);
  V m = ninf, l = zero();
  for (int k0 = 0; k0 < keyEnd; k0 += kKeyBlock) {
    const int nk = keyEnd - k0 < kKeyBlock ? keyEnd - k0 : kKeyBlock;
    const float* kr = kb + static_cast<size_t>(k0) * D.kvRow;
    int j = 0;
    for (; j + 8 <= nk; j += 8) dotRowsT<8>(S + j * W, Qt, kr + j * D.kvRow, D.kvRow, HS);
    for (; j + 4 <= nk; j += 4) dotRowsT<4>(S + j * W, Qt, kr + j * D.kvRow, D.kvRow, HS);
    for (; j < nk; j++) dotRowsT<1>(S + j * W, Qt, kr + j * D.kvRow, D.kvRow, HS);
    V mx = ninf;
    for (j = 0; j < nk; j++) {
      V s = load(S + j * W);
      if (k0 + j > p0) {  // past the diagonal for some lanes: hide keys beyond each lane's position
        s = select(cmpLe(set1(static_cast<float>(k0 + j)), pos), s, ninf);
        store(S + j * W, s);
      }
      mx = max(mx, s);
    }
    const V mNew = max(m, mx);
    const V corr = exp(sub(m, mNew));
    l = mul(l, corr);
    for (int d = 0; d < HS; d++) store(acc + d * W, mul(load(acc + d * W), corr));
    for (j = 0; j < nk; j++) {
      const V p = exp(sub(load(S + j * W), mNew));
      l = add(l, p);
      store(S + j * W, p);
    }
    const float* vr = vb + static_cast<size_t>(k0) * D.kvRow;
    for (j = 0; j + 8 <= nk; j += 8) accumRowsT<8>(acc, S + j * W, vr + j * D.kvRow, D.kvRow, HS);
    for (; j + 4 <= nk; j += 4) accumRowsT<4>(acc, S + j * W, vr + j * D.kvRow, D.kvRow, HS);
    for (; j < nk; j++) accumRowsT<1>(acc, S + j * W, vr + j * D.kvRow, D.kvRow, HS);
    m = mNew;
  }
  store(lanes, m);
  store(lanes + W, l);
  float* lseRow = lse + (static_cast<size_t>(b) * D.NH + h) * D.Tq + i0;
  for (int i = 0; i < nq; i++) {
    lseRow[i] = lanes[i] + std::log(lanes[W + i]);
    lanes[i] = 1.f / lanes[W + i];
  }
  transposeOut(out + qOff, D.qRow, acc, nq, HS, lanes);
}

// One query row (b, h, i) with keys in lanes: for a KV-cache step (Tq of 1..4) the block kernel
// would leave most query lanes empty. Scores go to scratch (Tk floats), then softmax, then
// out = sum_j p_j v_j in HS-wide vectors. Scratch: Tk + HS floats (rounded up to W).
inline void forwardRow(const Dims& D, float* out, float* lse, const float* q, const float* k, const float* v,
                       int b, int h, int i, float* scratch) {
  const int HS = D.HS, nk = D.off + i + 1;
  float* S = scratch;
  float* acc = S + ((nk + W - 1) / W) * W;
  const size_t qOff = (static_cast<size_t>(b) * D.Tq + i) * D.qRow + static_cast<size_t>(h) * HS;
  const float* kb = k + static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  const float* vb = v + static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  const float* qi = q + qOff;
  float m = -INFINITY;
  for (int j = 0; j < nk; j++) {
    const float s = dot(qi, kb + static_cast<size_t>(j) * D.kvRow, HS) * D.scale;
    S[j] = s;
    m = s > m ? s : m;
  }
  const V vm = set1(m);
  V l = zero();
  forEachVec(static_cast<size_t>(nk), [&](size_t j, int n) {
    const V p = keepFirst(exp(sub(loadN(S + j, n), vm)), n);
    l = add(l, p);
    storeN(S + j, p, n);
  });
  const float sum = hsum(l);
  for (int d = 0; d < HS; d++) acc[d] = 0.f;
  for (int j = 0; j < nk; j++) {
    const V p = set1(S[j]);
    const float* vr = vb + static_cast<size_t>(j) * D.kvRow;
    forEachVec(static_cast<size_t>(HS), [&](size_t d, int n) { storeN(acc + d, fmadd(p, loadN(vr + d, n), loadN(acc + d, n)), n); });
  }
  lse[(static_cast<size_t>(b) * D.NH + h) * D.Tq + i] = m + std::log(sum);
  const V inv = set1(1.f / sum);
  forEachVec(static_cast<size_t>(HS), [&](size_t d, int n) { storeN(out + qOff + d, mul(loadN(acc + d, n), inv), n); });
}

// dq for one (b, h, query block at i0): dq_i = scale * sum_j ds_ij k_j, ds = p (dp - D_i),
// p = exp(s - lse_i), dp = dOut_i . v_j. Scratch: 3*HS*W + W floats.
inline void dqBlock(const Dims& D, float* dq, const float* dOut, const float* q, const float* k, const float* v,
                    const float* lse, const float* Dsum, int b, int h, int i0, float* scratch) {
  const int HS = D.HS, nq = D.Tq - i0 < W ? D.Tq - i0 : W;
  float* Qt = scratch;
  float* dOt = Qt + static_cast<size_t>(HS) * W;
  float* dqT = dOt + static_cast<size_t>(HS) * W;
  float* lanes = dqT + static_cast<size_t>(HS) * W;
  const size_t qOff = (static_cast<size_t>(b) * D.Tq + i0) * D.qRow + static_cast<size_t>(h) * HS;
  const float* kb = k + static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  const float* vb = v + static_cast<size_t>(b) * D.Tk * D.kvRow + static_cast<size_t>(h / D.grp) * HS;
  transposeIn(Qt, q + qOff, D.qRow, nq, HS, D.scale);
  transposeIn(dOt, dOut + qOff, D.qRow, nq, HS, 1.f);
  zeroBlock(dqT, HS);
  const size_t rowOff = (static_cast<size_t>(b) * D.NH + h) * D.Tq + i0;
  const V lseV = loadN(lse + rowOff, nq), Dv = loadN(Dsum + rowOff, nq);
  const int p0 = D.off + i0;
  const V pos = add(set1(static_cast<float>(p0)), iota());
  const int keyEnd = p0 + nq;
  constexpr int G = 4;
  alignas(64) float S[2 * G * W];  // scores then dp, G keys each
  for (int j0 = 0; j0 < keyEnd; j0 += G) {
    const int g = keyEnd - j0 < G ? keyEnd - j0 : G;
    const float* kr = kb + static_cast<size_t>(j0) * D.kvRow;
    const float* vr = vb + static_cast<size_t>(j0) * D.kvRow;
    dotRowsT2Upto<G>(g, S, Qt, kr, dOt, vr, D.kvRow, HS);
    for (int x = 0; x < g; x++) {
      V p = exp(sub(load(S + x * W), lseV));
      if (j0 + x > p0) p = select(cmpLe(set1(static_cast<float>(j0 + x)), pos), p, zero());
      store(S + x * W, mul(p, sub(load(S + (G + x) * W), Dv)));  // ds
    }
    accumRowsTUpto<G>(g, dqT, S, kr, D.kvRow, HS);
  }
  for (int i = 0; i < W; i++) lanes[i] = D.scale;
  transposeOut(dq + qOff, D.qRow, dqT, nq, HS, lanes);
}

// dk, dv for one (b, kv head, key block at j0), summed over the kv group's query heads and the
// queries that see these keys: dv_j = sum p dOut_i, dk_j = scale * sum ds q_i.
// Scratch: 4*HS*W + W floats.
inline void dkdvBlock(const Dims& D, float* dk, float* dv, const float* dOut, const float* q, const float* k,
                      const float* v, const float* lse, const float* Dsum, int b, int kvh, int j0, float* scratch) {
  const int HS = D.HS, nk = D.Tk - j0 < W ? D.Tk - j0 : W;
  float* Kt = scratch;
  float* Vt = Kt + static_cast<size_t>(HS) * W;
  float* dkT = Vt + static_cast<size_t>(HS) * W;
  float* dvT = dkT + static_cast<size_t>(HS) * W;
  float* lanes = dvT + static_cast<size_t>(HS) * W;
  const size_t kvOff = (static_cast<size_t>(b) * D.Tk + j0) * D.kvRow + static_cast<size_t>(kvh) * HS;
  transposeIn(Kt, k + kvOff, D.kvRow, nk, HS, 1.f);
  transposeIn(Vt, v + kvOff, D.kvRow, nk, HS, 1.f);
  zeroBlock(dkT, HS);
  zeroBlock(dvT, HS);
  const V kpos = add(set1(static_cast<float>(j0)), iota());
  const V scale = set1(D.scale);
  const int iStart = j0 - D.off > 0 ? j0 - D.off : 0;  // first query that sees key j0
  constexpr int G = 4;
  alignas(64) float S[2 * G * W];  // p then ds, G queries each
  for (int hh = 0; hh < D.grp; hh++) {
    const int h = kvh * D.grp + hh;
    const float* qb = q + static_cast<size_t>(b) * D.Tq * D.qRow + static_cast<size_t>(h) * HS;
    const float* ob = dOut + static_cast<size_t>(b) * D.Tq * D.qRow + static_cast<size_t>(h) * HS;
    const size_t rowOff = (static_cast<size_t>(b) * D.NH + h) * D.Tq;
    for (int i0 = iStart; i0 < D.Tq; i0 += G) {
      const int g = D.Tq - i0 < G ? D.Tq - i0 : G;
      const float* qr = qb + static_cast<size_t>(i0) * D.qRow;
      const float* orow = ob + static_cast<size_t>(i0) * D.qRow;
      dotRowsT2Upto<G>(g, S, Kt, qr, Vt, orow, D.qRow, HS);
      for (int x = 0; x < g; x++) {
        const int i = i0 + x;
        V p = exp(fnmadd(set1(1.f), set1(lse[rowOff + i]), mul(load(S + x * W), scale)));
        p = select(cmpLe(kpos, set1(static_cast<float>(D.off + i))), p, zero());
        store(S + (G + x) * W, mul(p, sub(load(S + (G + x) * W), set1(Dsum[rowOff + i]))));  // ds
        store(S + x * W, p);
      }
      accumRowsTUpto<G>(g, dvT, S, orow, D.qRow, HS);
      accumRowsTUpto<G>(g, dkT, S + G * W, qr, D.qRow, HS);
    }
  }
  for (int i = 0; i < W; i++) lanes[i] = D.scale;
  transposeOut(dk + kvOff, D.kvRow, dkT, nk, HS, lanes);
  for (int i = 0; i < W; i++) lanes[i] = 1.f;
  transposeOut(dv + kvOff, D.kvRow, dvT, nk, HS, lanes);
}

// Runs fn(task, thread) for ntasks on the pool, or inline when the whole op is small.
template <class F>
inline void runTasks(int ntasks, double work, F&& fn) {
  if (work <= static_cast<double>(kParallelMin) * 4) {
    for (int t = 0; t < ntasks; t++) fn(t, 0);
  } else {
    pool().parallelFor(ntasks, [&](int t, int thread) { fn(t, thread); });  // parallelFor wants an rvalue
  }
}

}  // namespace attn

// q (B,Tq,NH,HS), k, v (B,Tk,NKV,HS) -> out (B,Tq,NH,HS), lse (B,NH,Tq)
void attentionForward(float* out, float* lse, const float* q, const float* k, const float* v, int B, int Tq,
                      int Tk, int NH, int NKV, int HS) {
  using simd::W;
  const attn::Dims D = attn::dims(B, Tq, Tk, NH, NKV, HS);
  if (W >= 8 && Tq <= 4) {  // KV-cache step: one task per query row, keys in lanes
    scratchReserve(sizeof(float) * (static_cast<size_t>(Tk + HS) + 2 * W));
    const int nrows = B * NH * Tq;
    attn::runTasks(nrows, static_cast<double>(nrows) * Tk * HS, [&](int task, int thread) {
      const int i = task % Tq, bh = task / Tq;
      attn::forwardRow(D, out, lse, q, k, v, bh / NH, bh % NH, i, static_cast<float*>(threadScratch(thread)));
    });
    return;
  }
  if (const int nv = attn::rowsVectors(HS)) {  // small heads: one task per (b, h), see attention-rows-impl.h
    scratchReserve(attn::rowsForwardScratch(D));
    attn::runTasks(B * NH, static_cast<double>(B) * NH * Tq * Tk * HS, [&](int task, int thread) {
      float* scratch = static_cast<float*>(threadScratch(thread));
      attn::withVectors(nv, [&](auto c) {
        attn::forwardHead<decltype(c)::value>(D, out, lse, q, k, v, task / NH, task % NH, scratch);
      });
    });
    return;
  }
  scratchReserve(sizeof(float) * (static_cast<size_t>(2 * HS + attn::kKeyBlock + 2) * W));
  const int nqb = (Tq + W - 1) / W, nbh = B * NH;
  // Heaviest blocks (last queries: most keys) first so the dynamic hand-out balances.
  attn::runTasks(nqb * nbh, static_cast<double>(nbh) * Tq * Tk * HS, [&](int task, int thread) {
    const int qb = nqb - 1 - task / nbh, bh = task % nbh;
    attn::forwardBlock(D, out, lse, q, k, v, bh / NH, bh % NH, qb * W, static_cast<float*>(threadScratch(thread)));
  });
}

// dq (B,Tq,NH,HS), dk, dv (B,Tk,NKV,HS) overwritten
void attentionBackward(float* dq, float* dk, float* dv, const float* dOut, const float* q, const float* k,
                       const float* v, const float* out, const float* lse, int B, int Tq, int Tk, int NH, int NKV,
                       int HS) {
  using simd::W;
  const attn::Dims D = attn::dims(B, Tq, Tk, NH, NKV, HS);
  if (const int nv = attn::rowsVectors(HS)) {  // small heads: one task per (b, kv head)
    scratchReserve(attn::rowsBackwardScratch(D));
    attn::runTasks(B * NKV, static_cast<double>(B) * NH * Tq * Tk * HS, [&](int task, int thread) {
      float* scratch = static_cast<float*>(threadScratch(thread));
      attn::withVectors(nv, [&](auto c) {
        attn::backwardKvHead<decltype(c)::value>(D, dq, dk, dv, dOut, q, k, v, out, lse, task / NKV, task % NKV, scratch);
      });
    });
    return;
  }
  float* Dsum = static_cast<float*>(sharedScratch(sizeof(float) * static_cast<size_t>(B) * NH * Tq));
  scratchReserve(sizeof(float) * (static_cast<size_t>(4 * HS + 1) * W));
  // D (B,NH,Tq) = rowsum(dOut * out)
  parallelRows(B * Tq, D.qRow, [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const int b = r / Tq, t = r % Tq;
      for (int h = 0; h < NH; h++) {
        const size_t o = static_cast<size_t>(r) * D.qRow + static_cast<size_t>(h) * HS;
        Dsum[(static_cast<size_t>(b) * NH + h) * Tq + t] = simd::dot(dOut + o, out + o, HS);
      }
    }
  });
  const int nqb = (Tq + W - 1) / W, nbh = B * NH;
  const int nkb = (Tk + W - 1) / W, nbkv = B * NKV;
  const int nDq = nqb * nbh;
  attn::runTasks(nDq + nkb * nbkv, static_cast<double>(nbh) * Tq * Tk * HS, [&](int task, int thread) {
    float* scratch = static_cast<float*>(threadScratch(thread));
    if (task < nDq) {
      const int qb = nqb - 1 - task / nbh, bh = task % nbh;
      attn::dqBlock(D, dq, dOut, q, k, v, lse, Dsum, bh / NH, bh % NH, qb * W, scratch);
    } else {
      const int t = task - nDq, kb = t / nbkv, bk = t % nbkv;  // first key blocks see the most queries
      attn::dkdvBlock(D, dk, dv, dOut, q, k, v, lse, Dsum, bk / NKV, bk % NKV, kb * W, scratch);
    }
  });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
