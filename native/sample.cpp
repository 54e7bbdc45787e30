// See sample.h. One row at a time, single-threaded (V ≤ a few hundred thousand: a sort of V
// indices at most); candidates ordered by logit descending, ties by lower index, as topkForward.
#include "sample.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace distill {

void sampleRows(int32_t* out, const float* logits, int N, int V, double temperature, int topK, double topP, const double* uniforms) {
  std::vector<int32_t> idx(static_cast<size_t>(V));
  std::vector<double> probs(static_cast<size_t>(V));
  for (int r = 0; r < N; r++) {
    const float* row = logits + static_cast<size_t>(r) * V;
    if (temperature <= 0) {
      int best = 0;
      for (int i = 1; i < V; i++) if (row[i] > row[best]) best = i;
      out[r] = best;
      continue;
    }
    std::iota(idx.begin(), idx.end(), 0);
    auto desc = [row](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
    int n = V;
    if (topK > 0 && topK < V) {
      n = topK;
      std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), desc);
    } else if (topP < 1) {
      std::sort(idx.begin(), idx.end(), desc);
    }
    double mx = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < n; i++) mx = std::max(mx, static_cast<double>(row[idx[i]]));
    double sum = 0;
    for (int i = 0; i < n; i++) { probs[i] = std::exp((static_cast<double>(row[idx[i]]) - mx) / temperature); sum += probs[i]; }
    if (topP < 1) {
      double cum = 0;
      int keep = 0;
      while (keep < n) { cum += probs[keep] / sum; keep++; if (cum >= topP) break; }
      n = keep;
      sum = 0;
      for (int i = 0; i < n; i++) sum += probs[i];
    }
    const double u = uniforms[r] * sum;
    double acc = 0;
    int pick = idx[n - 1];
    for (int i = 0; i < n; i++) {
      acc += probs[i];
      if (u < acc) { pick = idx[i]; break; }
    }
    out[r] = pick;
  }
}

}  // namespace distill
