// The fused output head + distillation loss (Backend.headLossForwardBackward): rows in chunks;
// per chunk the head GEMM (and a hidden teacher's), per row (rows split over the pool) the CE +
// KD values and dLogits in SIMD passes over V (max; exps and normalisers, kept in per-thread rows;
// element terms; gradient), then the dHidden and dWeight GEMMs. The math is src/engine/ref's
// (kd-dense.ts, kd-sparse.ts, divergences.ts); arguments are checked by the binding. GEMMs go
// through gemm.h only; scratch is grow-only (no allocation once warm).
#pragma once
#include <cmath>
#include <cstdint>
#include <new>

#include "bf16.h"
#include "gemm.h"
#include "grow-buffer.h"
#include "kernels/head-loss-terms-impl.h"
#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace headloss {

using simd::V;

// Chunk logits (and a hidden teacher's), grow-only and 64-byte aligned.
inline GrowBuffer<float>& chunkBuf() { static GrowBuffer<float> b; return b; }

// Per-row constants of one call.
struct Ctx {
  const LossRows* a;
  Term term;
  float invT, tScale, cCe, cKd, lossScale;
  bool kd;
};

// Max of x[0, n) and, when y != null, of y[0, n).
inline void rowMax(const float* x, const float* y, int n, float& mx, float& my) {
  using namespace simd;
  V ax = set1(kNegInf), ay = set1(kNegInf);
  forEachVec(static_cast<size_t>(n), [&](size_t i, int c) {
    ax = max(ax, loadNOr(x + i, c, kNegInf));
    if (y) ay = max(ay, loadNOr(y + i, c, kNegInf));
  });
  mx = hmax(ax);
  my = y ? hmax(ay) : kNegInf;
}

// One row with a dense teacher row t (or none): s holds the logits in, dLogits out.
// hrow, qrow, prow (nv, padded to whole vectors): per-thread scratch keeping the exps of pass 2
// and h, q of the loss pass for the gradient pass, so each exp is taken once.
inline void denseRow(const Ctx& c, float* s, const float* t, float* hrow, float* qrow, float* prow, int nv, int y,
                     float& ce, float& kdOut) {
  using namespace simd;
  float ms, mt;
  rowMax(s, c.kd ? t : nullptr, nv, ms, mt);
  const V vms = set1(ms), vmt = set1(mt), vinvT = set1(c.invT), vtS = set1(c.tScale);
  const bool sameT = c.invT == 1.f;
  // Pass 2: the three normalisers; the unnormalised exps are kept (prow: the student's at 1;
  // qrow: at T; hrow: the teacher's) so no later pass takes an exp.
  // With a teacher at T = 1 the student's exps at 1 and at T are the same row: kept once (qrow),
  // since the gradient then takes q itself and never reads prow.
  Acc s1, sS, sT;
  forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) {
    const V x = sub(loadNOr(s + i, n, kNegInf), vms);
    const V e1 = exp(x);
    s1.add(e1);
    if (!c.kd) { store(prow + i, e1); return; }
    if (!sameT) store(prow + i, e1);
    const V eS = sameT ? e1 : exp(mul(x, vinvT));
    if (!sameT) sS.add(eS);
    const V eT = exp(mul(sub(loadNOr(t + i, n, kNegInf), vmt), vtS));
    sT.add(eT);
    store(qrow + i, eS);  // rows are padded to whole vectors
    store(hrow + i, eT);
  });
  const double sum1 = s1.total();
  const float lse1 = ms + static_cast<float>(std::log(sum1));
  ce = lse1 - s[y];
  const V vcCe = set1(c.cCe);
  if (!c.kd) {
    kdOut = 0.f;
    const V scale = set1(static_cast<float>(c.cCe / sum1));
    forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) { storeN(s + i, mul(scale, load(prow + i)), n); });
    s[y] -= c.cCe;
    return;
  }
  const double sumS = sameT ? sum1 : sS.total(), sumT = sT.total();
  const float lseS = ms * c.invT + static_cast<float>(std::log(sumS));
  const float lseT = mt * c.tScale + static_cast<float>(std::log(sumT));
  const V vlS = set1(-lseS), vlT = set1(-lseT);
  const V rS = set1(static_cast<float>(1.0 / sumS)), rT = set1(static_cast<float>(1.0 / sumT));
  Acc L, S;
  forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) {
    const V lq = fmadd(loadN(s + i, n), vinvT, vlS), lp = fmadd(loadN(t + i, n), vtS, vlT);
    const V q = mul(load(qrow + i), rS), p = mul(load(hrow + i), rT);
    V f, h;
    c.term(p, lp, q, lq, f, h);
    L.add(keepFirst(f, n));
    S.add(keepFirst(h, n));
    store(hrow + i, h);
    store(qrow + i, q);
  });
  kdOut = c.lossScale * static_cast<float>(L.total());
  const V vS = set1(static_cast<float>(S.total())), vcKd = set1(c.cKd), r1 = set1(static_cast<float>(1.0 / sum1));
  forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) {
    const V q = load(qrow + i), h = load(hrow + i);
    const V pce = sameT ? q : mul(load(prow + i), r1);
    storeN(s + i, fmadd(vcCe, pce, mul(vcKd, fnmadd(q, vS, h))), n);
  });
  s[y] -= c.cCe;
}

// Per-thread scratch of a sparse row: the kept-id mask (V) and the kept entries compacted (k each).
struct SparseScratch {
  float* mask;   // 1 at kept ids, 0 elsewhere (all 0 between rows)
  float* gz;     // student logit at each kept id
  float* glp;    // teacher log-prob of each kept id
  float* dk;     // per kept id: gradient correction
  int32_t* gid;  // the kept ids
};

// The sparse scratch carved from one thread's block at `base` (the mask first, zeroed, then the
// compacted entries), for the fused op and the KD op alike.
inline SparseScratch sparseScratchAt(float* base, int V, size_t vPad, size_t kPad) {
  SparseScratch w;
  w.mask = base; w.gz = base + vPad; w.glp = w.gz + kPad; w.dk = w.glp + kPad;
  w.gid = reinterpret_cast<int32_t*>(w.dk + kPad);
  for (int j = 0; j < V; j++) w.mask[j] = 0.f;
  return w;
}

// One row with a sparse teacher (ids/lps of k slots, tail mass): s holds logits in, dLogits out.
inline void sparseRow(const Ctx& c, const SparseScratch& w, float* s, const int32_t* ids, const float* lps,
                      float tail, int k, int nv, int y, float& ce, float& kdOut) {
  using namespace simd;
  const HeadTail mode = c.a->tailMode;
  int kk = 0;
  float lpMax = kNegInf;
  for (int e = 0; e < k; e++) {
    const int id = ids[e];
    if (id < 0) continue;
    w.gid[kk] = id; w.gz[kk] = s[id]; w.glp[kk] = lps[e]; w.mask[id] = 1.f;
    if (lps[e] > lpMax) lpMax = lps[e];
    kk++;
  }
  float ms, unused;
  rowMax(s, nullptr, nv, ms, unused);
  const V vms = set1(ms), vinvT = set1(c.invT), one = set1(1.f);
  const bool sameT = c.invT == 1.f;
  Acc s1, sS, sOut;
  forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) {
    const V x = sub(loadNOr(s + i, n, kNegInf), vms);
    const V ex = exp(x);
    s1.add(ex);
    const V es = sameT ? ex : exp(mul(x, vinvT));
    if (!sameT) sS.add(es);
    if (mode == HeadTail::Bucket) sOut.add(select(cmpLt(loadN(w.mask + i, n), one), es, zero()));
  });
  const float lse1 = ms + static_cast<float>(std::log(s1.total()));
  const float lseS = sameT ? lse1 : ms * c.invT + static_cast<float>(std::log(sS.total()));
  ce = lse1 - s[y];
  const V vl1 = set1(lse1), vlS = set1(-lseS), vcCe = set1(c.cCe), vcKd = set1(c.cKd);

  // Kept entries: p, lp, q, lq of entry e (vector over the compacted arrays).
  float lpShift = 0.f, lqShift = -lseS;
  if (mode == HeadTail::Ignore) {
    double ps = 0, qs = 0;
    float zMax = kNegInf;
    for (int e = 0; e < kk; e++) zMax = std::fmax(zMax, w.gz[e] * c.invT);
    for (int e = 0; e < kk; e++) { ps += std::exp(static_cast<double>(w.glp[e]) - lpMax); qs += std::exp(static_cast<double>(w.gz[e]) * c.invT - zMax); }
    lpShift = -(lpMax + static_cast<float>(std::log(ps)));
    lqShift = -(zMax + static_cast<float>(std::log(qs)));
  }
  const V vlpS = set1(lpShift), vlqS = set1(lqShift);
  auto kept = [&](size_t i, int n, V& p, V& lp, V& q, V& lq) {
    lp = add(loadNOr(w.glp + i, n, 0.f), vlpS);
    lq = fmadd(loadNOr(w.gz + i, n, 0.f), vinvT, vlqS);
    p = exp(lp); q = exp(lq);
  };
  Acc L, S;
  forEachVec(static_cast<size_t>(kk), [&](size_t i, int n) {
    V p, lp, q, lq, f, h;
    kept(i, n, p, lp, q, lq);
    c.term(p, lp, q, lq, f, h);
    L.add(keepFirst(f, n)); S.add(keepFirst(h, n));
  });
  // Bucket: the tail as one more support element; uniform: the tail spread over the other ids.
  float gTail = 0.f, pU = 0.f, lpU = kNegInf;
  alignas(64) float lane[16];
  if (mode == HeadTail::Bucket) {
    const float lqT = (static_cast<float>(std::log(sOut.total())) + ms * c.invT) - lseS;
    const float qT = std::exp(lqT);
    V f, h;
    c.term(set1(tail), set1(std::log(tail)), set1(qT), set1(lqT), f, h);
    store(lane, f); L.d += lane[0];
    store(lane, h); S.d += lane[0];
    gTail = qT > 0.f ? lane[0] / qT : 0.f;
  } else if (mode == HeadTail::Uniform) {
    pU = kk < nv ? tail / static_cast<float>(nv - kk) : 0.f;
    lpU = std::log(pU);
    const V vp = set1(pU), vlp = set1(lpU);
    forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) {
      const V lq = fmadd(loadN(s + i, n), vinvT, vlS);
      V f, h;
      c.term(vp, vlp, exp(lq), lq, f, h);
      const auto other = cmpLt(loadN(w.mask + i, n), one);
      L.add(keepFirst(select(other, f, zero()), n)); S.add(keepFirst(select(other, h, zero()), n));
    });
  }
  kdOut = c.lossScale * static_cast<float>(L.total());
  const float Sf = static_cast<float>(S.total());
  const V vS = set1(Sf);

  // Gradient: the formula of a not-kept id over the whole row, then kept ids corrected.
  forEachVec(static_cast<size_t>(nv), [&](size_t i, int n) {
    const V x = loadN(s + i, n);
    const V lq = fmadd(x, vinvT, vlS), q = exp(lq);
    const V pce = sameT ? q : exp(sub(x, vl1));
    V kdg;
    if (mode == HeadTail::Ignore) kdg = zero();
    else if (mode == HeadTail::Bucket) kdg = mul(q, set1(gTail - Sf));
    else { V f, h; c.term(set1(pU), set1(lpU), q, lq, f, h); kdg = fnmadd(q, vS, h); }
    storeN(s + i, fmadd(vcCe, pce, mul(vcKd, kdg)), n);
  });
  forEachVec(static_cast<size_t>(kk), [&](size_t i, int n) {
    V p, lp, q, lq, f, h;
    kept(i, n, p, lp, q, lq);
    c.term(p, lp, q, lq, f, h);
    V d = fnmadd(q, vS, h);  // what a kept id should get (q over the kept ids for 'ignore')
    if (mode == HeadTail::Bucket) {
      d = fnmadd(q, set1(gTail), h);  // minus the bucket formula already written: q (gTail - S)
    } else if (mode == HeadTail::Uniform) {
      // minus the uniform formula already written: hU - q S
      V fu, hu;
      c.term(set1(pU), set1(lpU), q, lq, fu, hu);
      d = sub(h, hu);
    }
    storeN(w.dk + i, mul(vcKd, d), n);
  });
  for (int e = 0; e < kk; e++) { s[w.gid[e]] += w.dk[e]; w.mask[w.gid[e]] = 0.f; }
  s[y] -= c.cCe;
}

}  // namespace headloss

void headLossForwardBackward(const HeadLossArgs& a) {
  using namespace headloss;
  const int N = a.N, V = a.V, C = a.C;
  for (size_t i = 0; i < static_cast<size_t>(N) * C; i++) a.dHidden[i] = 0.f;
  if (a.count == 0) {
    for (int i = 0; i < N; i++) a.rowCe[i] = a.rowKd[i] = 0.f;
    return;
  }
  Ctx c;
  c.a = &a;
  c.term = makeTerm(a.divergence, a.divParam);
  c.kd = a.teacher != HeadTeacher::None;
  c.invT = 1.f / a.temperature;
  c.tScale = a.teacher == HeadTeacher::LogProbs ? 1.f : c.invT;
  c.lossScale = a.lossScale;
  c.cCe = static_cast<float>(static_cast<double>(a.gradScale) * a.alpha / a.count);
  c.cKd = c.kd ? static_cast<float>(static_cast<double>(a.gradScale) * (1.0 - a.alpha) * a.lossScale / a.temperature / a.count) : 0.f;

  const int R = a.chunkRows < N ? a.chunkRows : N;
  const bool hid = a.teacher == HeadTeacher::Hidden, sparse = a.teacher == HeadTeacher::Sparse;
  float* S = chunkBuf().get(static_cast<size_t>(R) * V * (hid ? 2 : 1));
  float* Tb = S + static_cast<size_t>(R) * V;
  const size_t kPad = (static_cast<size_t>(a.k) + 15) & ~static_cast<size_t>(15);
  const size_t vPad = (static_cast<size_t>(V) + 15) & ~static_cast<size_t>(15);
  // Per thread: h, q and p rows (dense teachers) or the sparse scratch.
  scratchReserve((sparse ? vPad + 4 * kPad : 3 * vPad) * sizeof(float));
  const int rowsPerTask = V >= 16384 ? 1 : 16384 / V;

  for (int r0 = 0; r0 < N; r0 += R) {
    const int n = N - r0 < R ? N - r0 : R;
    const float* h = a.hidden + static_cast<size_t>(r0) * C;
    int live = 0;
    for (int i = r0; i < r0 + n; i++) live += a.targets[i] != a.ignoreIndex;
    distill::gemm(false, true, n, V, C, 1.f, h, a.weight, 0.f, S);
    const float* t = nullptr;
    if (a.teacher == HeadTeacher::Logits || a.teacher == HeadTeacher::LogProbs) t = a.tDense + static_cast<size_t>(r0) * V;
    if (hid) {
      const float* th = a.tHidden + static_cast<size_t>(r0) * a.tC;
      if (a.tWeightBf16) distill::bf16Gemm(n, V, a.tC, th, a.tWeightBf16, 0.f, Tb);
      else distill::gemm(false, true, n, V, a.tC, 1.f, th, a.tWeight, 0.f, Tb);
      t = Tb;
    }
    const int ntasks = (n + rowsPerTask - 1) / rowsPerTask;
    auto task = [&](int tk, int thread) {
      float* base = static_cast<float*>(threadScratch(thread));
      const SparseScratch w = sparse ? sparseScratchAt(base, V, vPad, kPad) : SparseScratch{};
      const int b = tk * rowsPerTask, e = b + rowsPerTask < n ? b + rowsPerTask : n;
      for (int r = b; r < e; r++) {
        const int gi = r0 + r, y = a.targets[gi];
        float* s = S + static_cast<size_t>(r) * V;
        if (y == a.ignoreIndex) {
          a.rowCe[gi] = a.rowKd[gi] = 0.f;
          for (int j = 0; j < V; j++) s[j] = 0.f;
          continue;
        }
        if (sparse) {
          sparseRow(c, w, s, a.ids + static_cast<size_t>(gi) * a.k, a.tLogProbs + static_cast<size_t>(gi) * a.k,
                    a.tail[gi], a.k, V, y, a.rowCe[gi], a.rowKd[gi]);
        } else {
          denseRow(c, s, t ? t + static_cast<size_t>(r) * V : nullptr, base, base + vPad, base + 2 * vPad, V, y,
                   a.rowCe[gi], a.rowKd[gi]);
        }
      }
    };
    pool().parallelFor(ntasks, task);
    if (live == 0) continue;  // dLogits all zero: dHidden stays 0, dWeight unchanged
    distill::gemm(false, false, n, C, V, 1.f, S, a.weight, 0.f, a.dHidden + static_cast<size_t>(r0) * C);
    distill::gemm(true, false, V, C, n, 1.f, S, h, 1.f, a.dWeight);
  }
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
