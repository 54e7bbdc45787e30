// The KD term alone over rows of logits (Backend.kdForwardBackward): each row, copied into
// per-thread scratch, goes through the fused head loss's row passes (head-loss-impl.h denseRow /
// sparseRow) with the CE weight at 0, and its gradient is stored into, or added to, dStudent;
// 'mse' (logits, dense rows) is its own short pass. No GEMM and no CE of its own; arguments are
// checked by the binding, scratch is grow-only.
#pragma once
#include <cmath>
#include <cstring>

#include "kernels/head-loss-impl.h"
#include "kernels/parallel.h"

namespace distill {
namespace DISTILL_ISA_NS {

namespace kdloss {

// mse on logits/T: row loss (1/V)·Σ((s−t)/T)² (× lossScale), gradient g·(s−t)/T with g = 2·cKd/V
// (as src/engine/ref/kd-dense.ts). Returns the row loss; writes the gradient into d when given.
inline float mseRow(const float* s, const float* t, int V, float invT, float lossScale, float cKd, float* d, bool accumulate) {
  double L = 0;
  const float g = 2.f * cKd / static_cast<float>(V);
  for (int j = 0; j < V; j++) {
    const float x = (s[j] - t[j]) * invT;
    L += static_cast<double>(x) * x;
    if (d) d[j] = accumulate ? d[j] + g * x : g * x;
  }
  return lossScale * static_cast<float>(L / V);
}

}  // namespace kdloss

void kdForwardBackward(const KdArgs& a) {
  using namespace headloss;
  const int N = a.N, V = a.V;
  const bool sparse = a.teacher == HeadTeacher::Sparse, mse = a.divergence == HeadDivergence::Mse;
  // The gradient of the mean over the counted rows: the fused op's KD weight with α = 0.
  const float cKd = a.count > 0 ? static_cast<float>(static_cast<double>(a.gradScale) * a.lossScale / a.temperature / a.count) : 0.f;
  Ctx c;
  c.a = &a;
  c.term = makeTerm(a.divergence, a.divParam);
  c.kd = true;
  c.invT = 1.f / a.temperature;
  c.tScale = a.teacher == HeadTeacher::LogProbs ? 1.f : c.invT;
  c.lossScale = a.lossScale;
  c.cCe = 0.f;
  c.cKd = cKd;
  const size_t kPad = (static_cast<size_t>(a.k) + 15) & ~static_cast<size_t>(15);
  const size_t vPad = (static_cast<size_t>(V) + 15) & ~static_cast<size_t>(15);
  // Per thread: the row copy, then h, q, p rows (dense) or the sparse scratch.
  scratchReserve((sparse ? 2 * vPad + 4 * kPad : 4 * vPad) * sizeof(float));
  const int rowsPerTask = V >= 16384 ? 1 : 16384 / V;
  const int ntasks = (N + rowsPerTask - 1) / rowsPerTask;
  pool().parallelFor(ntasks, [&](int tk, int thread) {
    float* row = static_cast<float*>(threadScratch(thread));
    float* work = row + vPad;
    const SparseScratch w = sparse ? sparseScratchAt(work, V, vPad, kPad) : SparseScratch{};
    const int b = tk * rowsPerTask, e = b + rowsPerTask < N ? b + rowsPerTask : N;
    for (int r = b; r < e; r++) {
      const int y = a.targets ? a.targets[r] : 0;
      float* d = a.dStudent ? a.dStudent + static_cast<size_t>(r) * V : nullptr;
      if (a.targets && y == a.ignoreIndex) {
        a.rowLosses[r] = 0.f;
        if (d && !a.accumulate) std::memset(d, 0, static_cast<size_t>(V) * sizeof(float));
        continue;
      }
      const float* s = a.student + static_cast<size_t>(r) * V;
      if (mse) {
        a.rowLosses[r] = kdloss::mseRow(s, a.tDense + static_cast<size_t>(r) * V, V, c.invT, a.lossScale, cKd, d, a.accumulate);
        continue;
      }
      std::memcpy(row, s, static_cast<size_t>(V) * sizeof(float));
      float ce, kd;
      if (sparse) {
        sparseRow(c, w, row, a.ids + static_cast<size_t>(r) * a.k, a.tLogProbs + static_cast<size_t>(r) * a.k, a.tail[r], a.k, V, y,
                  ce, kd);
      } else {
        denseRow(c, row, a.tDense + static_cast<size_t>(r) * V, work, work + vPad, work + 2 * vPad, V, y, ce, kd);
      }
      a.rowLosses[r] = kd;
      if (!d) continue;
      if (a.accumulate) for (int j = 0; j < V; j++) d[j] += row[j];
      else std::memcpy(d, row, static_cast<size_t>(V) * sizeof(float));
    }
  });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
