// Softmax cross-entropy over rows of logits (N,V): forward walks each row once in L1-sized chunks
// with an online max/sum; backward recomputes softmax from the saved lse (dLogits may alias
// logits). Written once over simd::V. Targets are range-checked by the binding, not here.
#pragma once
#include <cmath>

#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {

namespace xent {
constexpr int kChunk = 2048;  // floats per chunk: 8 KiB, stays in L1 between the max and sum sweeps
}

// logits (N,V), targets (N) -> losses (N) = lse - logit[target] (0 where ignored), lse (N)
void crossEntropyForward(float* losses, float* lse, const float* logits, const int32_t* targets, int N, int V,
                         int ignoreIndex) {
  using namespace simd;
  using Vec = simd::V;  // V is the vocabulary size here
  const float ninf = -INFINITY;
  parallelRows(N, static_cast<size_t>(V), [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const float* x = logits + static_cast<size_t>(r) * V;
      float m = ninf, s = 0.f;
      for (int c0 = 0; c0 < V; c0 += xent::kChunk) {
        const size_t len = static_cast<size_t>(V - c0 < xent::kChunk ? V - c0 : xent::kChunk);
        const float* xc = x + c0;
        Vec mx = set1(ninf);
        forEachVec(len, [&](size_t i, int n) { mx = max(mx, loadNOr(xc + i, n, ninf)); });
        const float mNew = std::fmax(m, hmax(mx));
        if (mNew > m) s *= std::exp(m - mNew);
        m = mNew;
        const Vec vm = set1(m);
        Vec acc = zero();
        forEachVec(len, [&](size_t i, int n) { acc = add(acc, exp(sub(loadNOr(xc + i, n, ninf), vm))); });
        s += hsum(acc);
      }
      const float l = m + std::log(s);
      lse[r] = l;
      const int t = targets[r];
      losses[r] = t == ignoreIndex ? 0.f : l - x[t];
    }
  });
}

// dLogits (N,V) = dLosses[i] (softmax(logits[i]) - onehot(target)), zero rows where ignored
void crossEntropyBackward(float* dLogits, const float* dLosses, const float* logits, const float* lse,
                          const int32_t* targets, int N, int V, int ignoreIndex) {
  using namespace simd;
  using Vec = simd::V;
  parallelRows(N, static_cast<size_t>(V), [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const size_t off = static_cast<size_t>(r) * V;
      const int t = targets[r];
      float* d = dLogits + off;
      if (t == ignoreIndex) {
        forEachVec(static_cast<size_t>(V), [&](size_t i, int n) { storeN(d + i, zero(), n); });
        continue;
      }
      const float* x = logits + off;
      const Vec vl = set1(lse[r]), dl = set1(dLosses[r]);
      forEachVec(static_cast<size_t>(V), [&](size_t i, int n) {
        storeN(d + i, mul(dl, exp(sub(loadN(x + i, n), vl))), n);
      });
      d[t] -= dLosses[r];  // d[t] now holds dl * p[t]; logits[t] is not read again
    }
  });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
