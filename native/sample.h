// Next-token sampling over rows of logits (the engine's sampleRows op): greedy, or temperature
// with top-k and top-p, each row from one uniform draw in [0, 1). Same arithmetic as the
// reference (src/engine/ref/sample.ts): float64 softmax over the candidates in descending order.
#pragma once
#include <cstdint>

namespace distill {

void sampleRows(int32_t* out, const float* logits, int N, int V, double temperature, int topK, double topP, const double* uniforms);

}  // namespace distill
