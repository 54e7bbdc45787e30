// The per-element pieces of the fused head loss (head-loss-impl.h), over simd::V: the KD
// divergence terms of src/engine/ref/divergences.ts, log-add-exp with its log1p, and a row sum kept
// accurate over 32000 columns. No row walking, no memory beyond registers.
#pragma once
#include <cmath>

#include "ops.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace headloss {

using simd::V;

constexpr float kNegInf = -INFINITY;

// log(1 + u) for u in [0, 1] (what log-add-exp needs): Cephes logf's reduction to [√½, √2)
// done by arithmetic (no exponent bits), then its degree-8 polynomial; u itself is used below √2
// so tiny u keeps full relative precision.
inline V log1pUnit(V u) {
#if defined(__AVX2__) || defined(__AVX512F__)
  using namespace simd;
  const V x = add(u, set1(1.f));
  const auto big = cmpLt(set1(1.41421356237f), x);
  const V m = select(big, fmadd(x, set1(0.5f), set1(-1.f)), u);  // x/2 - 1 or x - 1
  const V e = select(big, set1(1.f), zero());
  const V z = mul(m, m);
  V y = set1(7.0376836292E-2f);
  y = fmadd(y, m, set1(-1.1514610310E-1f));
  y = fmadd(y, m, set1(1.1676998740E-1f));
  y = fmadd(y, m, set1(-1.2420140846E-1f));
  y = fmadd(y, m, set1(1.4249322787E-1f));
  y = fmadd(y, m, set1(-1.6668057665E-1f));
  y = fmadd(y, m, set1(2.0000714765E-1f));
  y = fmadd(y, m, set1(-2.4999993993E-1f));
  y = fmadd(y, m, set1(3.3333331174E-1f));
  y = mul(mul(y, m), z);
  y = fmadd(e, set1(-2.12194440e-4f), y);
  y = fnmadd(set1(0.5f), z, y);
  return fmadd(e, set1(0.693359375f), add(m, y));
#else
  return std::log1p(u);
#endif
}

// log(exp(a) + exp(b)), exact at -inf (both -inf gives -inf).
inline V logAddExp(V a, V b) {
  using namespace simd;
  const V mx = max(a, b), mn = min(a, b);
  const auto dead = cmpLt(mx, set1(-3.0e38f));
  const V r = add(mx, log1pUnit(exp(sub(mn, mx))));
  return select(dead, mx, r);
}

inline V gtZero(V x, V v) { return simd::select(simd::cmpLt(simd::zero(), x), v, simd::zero()); }

// The element terms of src/engine/ref/divergences.ts: f(p, q) and h = q·∂f/∂q, for teacher p (log lp)
// and student q (log lq). Same guards (p > 0 / q > 0) as the TypeScript.
struct Term {
  HeadDivergence kind;
  float a = 0, la = kNegInf, l1a = kNegInf;  // beta or lambda, its log and log(1 - it)
  __attribute__((always_inline)) inline void operator()(V p, V lp, V q, V lq, V& f, V& h) const {
    using namespace simd;
    switch (kind) {
      case HeadDivergence::ForwardKl:
        f = gtZero(p, mul(p, sub(lp, lq)));
        h = sub(zero(), p);
        break;
      case HeadDivergence::ReverseKl:
        f = gtZero(q, mul(q, sub(lq, lp)));
        h = f;
        break;
      case HeadDivergence::SoftCe:
        f = gtZero(p, mul(sub(zero(), p), lq));
        h = sub(zero(), p);
        break;
      case HeadDivergence::Tvd: {
        const V d = sub(p, q);
        f = mul(set1(0.5f), max(d, sub(zero(), d)));
        const V hq = mul(set1(0.5f), q);
        h = select(cmpLt(p, q), hq, select(cmpLt(q, p), sub(zero(), hq), zero()));
        break;
      }
      case HeadDivergence::Jsd: {
        const V lm = logAddExp(add(set1(la), lp), add(set1(l1a), lq));
        const V ts = gtZero(q, mul(mul(set1(1.f - a), q), sub(lq, lm)));
        f = add(gtZero(p, mul(mul(set1(a), p), sub(lp, lm))), ts);
        h = ts;
        break;
      }
      case HeadDivergence::SkewForwardKl: {
        const V lm = logAddExp(add(set1(la), lp), add(set1(l1a), lq));
        const V m = exp(lm);
        f = gtZero(p, mul(p, sub(lp, lm)));
        h = gtZero(m, div(mul(mul(set1(a - 1.f), p), q), m));
        break;
      }
      case HeadDivergence::SkewReverseKl: {
        const V lm = logAddExp(add(set1(la), lq), add(set1(l1a), lp));
        const V m = exp(lm);
        const V d = sub(lq, lm);
        f = gtZero(q, mul(q, d));
        h = gtZero(q, mul(q, sub(d, div(mul(set1(a), q), m))));
        break;
      }
      case HeadDivergence::Mse:  // on logits, not an element term: never reaches a Term
        f = h = zero();
        break;
    }
  }
};

// The Term of a divergence and its parameter (β for jsd, λ for the skew KLs), JSD's endpoints
// taken as exactly forward / reverse KL (as src/engine/ref/divergences.ts does).
inline Term makeTerm(HeadDivergence kind, float param) {
  Term t;
  t.kind = kind;
  t.a = param;
  t.la = std::log(param);
  t.l1a = std::log(1.f - param);
  if (kind == HeadDivergence::Jsd && param == 0.f) t.kind = HeadDivergence::ForwardKl;
  if (kind == HeadDivergence::Jsd && param == 1.f) t.kind = HeadDivergence::ReverseKl;
  return t;
}

// A float vector sum folded into double every 64 adds (rows of 32000 stay accurate).
struct Acc {
  V v = simd::zero();
  double d = 0;
  int n = 0;
  inline void add(V x) {
    v = simd::add(v, x);
    if (++n == 64) { d += simd::hsum(v); v = simd::zero(); n = 0; }
  }
  double total() const { return d + simd::hsum(v); }
};

}  // namespace headloss
}  // namespace DISTILL_ISA_NS
}  // namespace distill
