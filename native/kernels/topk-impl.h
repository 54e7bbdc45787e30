// Top-k per row of (N,V): a k-entry heap (root = worst kept) fed by a vector threshold scan, then
// heap-sorted; order is value descending, ties lower index first. Backward scatters dValues.
// Heaps live in per-thread scratch (grow-only); indices are range-checked by the binding.
#pragma once
#include <cmath>

#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace topk {

struct Entry {
  float v;
  int32_t i;
};

// a ranks below b: smaller value, or equal value and higher index
inline bool worse(const Entry& a, const Entry& b) { return a.v < b.v || (a.v == b.v && a.i > b.i); }

// Restores the heap property below pos (every parent is worse than or equal to its children).
inline void siftDown(Entry* h, int size, int pos) {
  const Entry e = h[pos];
  for (;;) {
    int c = 2 * pos + 1;
    if (c >= size) break;
    if (c + 1 < size && worse(h[c + 1], h[c])) c++;
    if (!worse(h[c], e)) break;
    h[pos] = h[c];
    pos = c;
  }
  h[pos] = e;
}

}  // namespace topk

// inp (N,V) -> values (N,k) descending, indices (N,k)
void topkForward(float* values, int32_t* indices, const float* inp, int N, int V, int k) {
  using namespace simd;
  using topk::Entry;
  scratchReserve(sizeof(Entry) * static_cast<size_t>(k));
  const int rowsPerTask = V >= 16384 ? 1 : 16384 / (V == 0 ? 1 : V);
  const int ntasks = (N + rowsPerTask - 1) / rowsPerTask;
  auto task = [&](int tk, int thread) {
    Entry* h = static_cast<Entry*>(threadScratch(thread));
    const int r1 = (tk + 1) * rowsPerTask < N ? (tk + 1) * rowsPerTask : N;
    for (int r = tk * rowsPerTask; r < r1; r++) {
      const float* x = inp + static_cast<size_t>(r) * V;
      for (int j = 0; j < k; j++) h[j] = Entry{x[j], j};
      for (int j = k / 2 - 1; j >= 0; j--) topk::siftDown(h, k, j);
      // Later indices only enter with a strictly larger value than the worst kept one.
      forEachVec(static_cast<size_t>(V - k), [&](size_t i0, int n) {
        const size_t base = static_cast<size_t>(k) + i0;
        unsigned hit = bits(cmpLt(set1(h[0].v), loadNOr(x + base, n, -INFINITY)));
        while (hit) {
          const int lane = __builtin_ctz(hit);
          hit &= hit - 1;
          const float val = x[base + lane];
          if (val > h[0].v) {
            h[0] = Entry{val, static_cast<int32_t>(base + lane)};
            topk::siftDown(h, k, 0);
          }
        }
      });
      // Heap sort: the worst goes to the back each time, leaving the best at index 0.
      for (int end = k - 1; end > 0; end--) {
        const Entry t = h[0];
        h[0] = h[end];
        h[end] = t;
        topk::siftDown(h, end, 0);
      }
      float* vo = values + static_cast<size_t>(r) * k;
      int32_t* io = indices + static_cast<size_t>(r) * k;
      for (int j = 0; j < k; j++) {
        vo[j] = h[j].v;
        io[j] = h[j].i;
      }
    }
  };
  if (static_cast<size_t>(N) * V <= kParallelMin) {
    for (int t = 0; t < ntasks; t++) task(t, 0);
  } else {
    pool().parallelFor(ntasks, [&](int t, int thread) { task(t, thread); });  // parallelFor wants an rvalue
  }
}

// dInp (N,V) overwritten: zeros except dInp[i, indices[i,j]] = dValues[i,j]
void topkBackward(float* dInp, const float* dValues, const int32_t* indices, int N, int V, int k) {
  using namespace simd;
  parallelRows(N, static_cast<size_t>(V), [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      float* d = dInp + static_cast<size_t>(r) * V;
      forEachVec(static_cast<size_t>(V), [&](size_t i, int n) { storeN(d + i, zero(), n); });
      for (int j = 0; j < k; j++) d[indices[static_cast<size_t>(r) * k + j]] = dValues[static_cast<size_t>(r) * k + j];
    }
  });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
