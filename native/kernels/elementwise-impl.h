// Elementwise kernels over n floats: silu, gelu (tanh form), swiglu, forward and backward, and
// the AdamW step. Written once over simd::V; each native/isa/<isa>/ops-*.cpp compiles it.
// Every kernel loads an element's inputs before storing its outputs, so out may alias an input.
#pragma once
#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace elementwise {
using namespace simd;

constexpr float kGeluK0 = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluK1 = 0.044715f;

inline V sigmoid(V x) { return div(set1(1.f), add(set1(1.f), exp(sub(zero(), x)))); }

// GELU tanh form as x * sigmoid(2u), u = k0 (x + k1 x^3): 0.5 (1 + tanh u) == sigmoid(2u), and
// this form keeps full relative precision for large negative x (1 + tanh u would cancel).
inline V geluSig2u(V x) {
  const V x2 = mul(x, x);
  const V u = mul(set1(kGeluK0), fmadd(mul(set1(kGeluK1), x2), x, x));
  return sigmoid(add(u, u));
}

}  // namespace elementwise

// inp (n) -> out (n) = x * sigmoid(x)
void siluForward(float* out, const float* inp, size_t n) {
  using namespace simd;
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const V x = loadN(inp + b + i, c);
      storeN(out + b + i, mul(x, elementwise::sigmoid(x)), c);
    });
  });
}

// dInp (n) = dOut * s (1 + x (1 - s)), s = sigmoid(x)
void siluBackward(float* dInp, const float* dOut, const float* inp, size_t n) {
  using namespace simd;
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const V x = loadN(inp + b + i, c), d = loadN(dOut + b + i, c);
      const V s = elementwise::sigmoid(x);
      const V g = mul(s, fmadd(x, sub(set1(1.f), s), set1(1.f)));
      storeN(dInp + b + i, mul(d, g), c);
    });
  });
}

// inp (n) -> out (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
void geluForward(float* out, const float* inp, size_t n) {
  using namespace simd;
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const V x = loadN(inp + b + i, c);
      storeN(out + b + i, mul(x, elementwise::geluSig2u(x)), c);
    });
  });
}

// dInp = dOut * (s + 2 x s (1 - s) u'), s = sigmoid(2u), u' = k0 (1 + 3 k1 x^2)
void geluBackward(float* dInp, const float* dOut, const float* inp, size_t n) {
  using namespace simd;
  using elementwise::kGeluK0;
  using elementwise::kGeluK1;
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const V x = loadN(inp + b + i, c), d = loadN(dOut + b + i, c);
      const V s = elementwise::geluSig2u(x);
      const V du = mul(set1(kGeluK0), fmadd(set1(3.f * kGeluK1), mul(x, x), set1(1.f)));
      const V t = mul(mul(add(x, x), mul(s, sub(set1(1.f), s))), du);
      storeN(dInp + b + i, mul(d, add(s, t)), c);
    });
  });
}

// gate, up (n) -> out (n) = silu(gate) * up
void swigluForward(float* out, const float* gate, const float* up, size_t n) {
  using namespace simd;
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const V g = loadN(gate + b + i, c), u = loadN(up + b + i, c);
      storeN(out + b + i, mul(mul(g, elementwise::sigmoid(g)), u), c);
    });
  });
}

// dGate = dOut * up * s (1 + g (1 - s)), dUp = dOut * silu(g); both overwritten.
void swigluBackward(float* dGate, float* dUp, const float* dOut, const float* gate, const float* up, size_t n) {
  using namespace simd;
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const V g = loadN(gate + b + i, c), u = loadN(up + b + i, c), d = loadN(dOut + b + i, c);
      const V s = elementwise::sigmoid(g);
      const V dsilu = mul(s, fmadd(g, sub(set1(1.f), s), set1(1.f)));
      storeN(dGate + b + i, mul(mul(d, u), dsilu), c);
      storeN(dUp + b + i, mul(d, mul(g, s)), c);
    });
  });
}

// AdamW in place, in PyTorch's operation order (torch/optim/adamw.py, single-tensor path):
// p *= 1 - lr wd; m = m b1 + g (1 - b1); v = v b2 + (1 - b2) g g;
// p += -stepSize * m / (sqrt(v) / sqrt(bc2) + eps).
void adamwStep(float* params, const float* grads, float* m, float* v, size_t n, const AdamwScalars& s) {
  using namespace simd;
  const V decay = set1(s.decay), b1 = set1(s.beta1), omb1 = set1(s.oneMinusBeta1);
  const V b2 = set1(s.beta2), omb2 = set1(s.oneMinusBeta2), negStep = set1(-s.stepSize);
  const V bc2 = set1(s.bc2Sqrt), eps = set1(s.eps);
  parallelRange(n, [&](size_t b, size_t e) {
    forEachVec(e - b, [&](size_t i, int c) {
      const size_t o = b + i;
      const V g = loadN(grads + o, c);
      V p = mul(loadN(params + o, c), decay);
      const V mm = add(mul(loadN(m + o, c), b1), mul(g, omb1));
      const V vv = add(mul(loadN(v + o, c), b2), mul(mul(omb2, g), g));
      const V denom = add(div(sqrt(vv), bc2), eps);
      p = add(p, div(mul(negStep, mm), denom));
      storeN(m + o, mm, c);
      storeN(v + o, vv, c);
      storeN(params + o, p, c);
    });
  });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
