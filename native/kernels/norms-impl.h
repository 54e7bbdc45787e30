// RMSNorm and LayerNorm forward/backward over rows (N, C), written once over simd::V.
// Backward: dInp overwritten; dWeight/dBias accumulated, via per-chunk partial sums (fixed row
// chunks, reduced in chunk order) so the result does not depend on the thread count.
#pragma once
#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {
namespace norms {
using namespace simd;

// body(rowBegin, rowEnd, acc) where acc[k] (k < nacc) are C-float accumulators to add into.
// Small problems: one call, acc = outs (accumulating in place is exactly +=). Big ones: fixed row
// chunks (at most 64), each with zeroed partials in shared scratch, then outs[k] += partials in
// chunk order.
template <class F>
void rowsAccumulate(int N, int C, int nacc, float* const* outs, F&& body) {
  const size_t work = static_cast<size_t>(N) * C;
  if (work <= kParallelMin || N < 2) {
    body(0, N, outs);
    return;
  }
  size_t chunkRows = C >= 16384 ? 1 : 16384 / static_cast<size_t>(C);
  const size_t minRows = (static_cast<size_t>(N) + 63) / 64;
  if (chunkRows < minRows) chunkRows = minRows;
  const int nchunks = static_cast<int>((N + chunkRows - 1) / chunkRows);
  const size_t stride = (static_cast<size_t>(C) + 15) & ~static_cast<size_t>(15);
  float* parts = static_cast<float*>(sharedScratch(sizeof(float) * stride * nacc * nchunks));
  pool().parallelFor(nchunks, [&](int chunk, int) {
    float* acc[4];
    for (int k = 0; k < nacc; k++) {
      acc[k] = parts + (static_cast<size_t>(chunk) * nacc + k) * stride;
      for (int c = 0; c < C; c++) acc[k][c] = 0.f;
    }
    const int r0 = static_cast<int>(chunk * chunkRows);
    const int r1 = static_cast<int>(r0 + chunkRows < static_cast<size_t>(N) ? r0 + chunkRows : N);
    body(r0, r1, acc);
  });
  for (int k = 0; k < nacc; k++) {
    float* out = outs[k];
    forEachVec(static_cast<size_t>(C), [&](size_t c, int n) {
      V s = loadN(out + c, n);
      for (int chunk = 0; chunk < nchunks; chunk++)
        s = add(s, loadN(parts + (static_cast<size_t>(chunk) * nacc + k) * stride + c, n));
      storeN(out + c, s, n);
    });
  }
}

}  // namespace norms

// inp (N,C), weight (C) -> out (N,C), rstd (N); rstd = 1/sqrt(mean(x^2) + eps)
void rmsnormForward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
  using namespace simd;
  parallelRows(N, C, [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const float* x = inp + static_cast<size_t>(r) * C;
      float* o = out + static_cast<size_t>(r) * C;
      const float rs = 1.f / std::sqrt(dot(x, x, C) / static_cast<float>(C) + eps);
      rstd[r] = rs;
      const V vr = set1(rs);
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        storeN(o + i, mul(mul(loadN(x + i, n), vr), loadN(weight + i, n)), n);
      });
    }
  });
}

// dInp = rstd w dOut - x rstd^3 sum(dOut w x) / C (overwritten); dWeight += dOut x rstd
void rmsnormBackward(float* dInp, float* dWeight, const float* dOut, const float* inp, const float* weight,
                     const float* rstd, int N, int C) {
  using namespace simd;
  float* outs[1] = {dWeight};
  norms::rowsAccumulate(N, C, 1, outs, [&](int r0, int r1, float* const* acc) {
    float* dw = acc[0];
    for (int r = r0; r < r1; r++) {
      const size_t off = static_cast<size_t>(r) * C;
      const float* x = inp + off;
      const float* d = dOut + off;
      const float rs = rstd[r];
      V s = zero();
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        s = fmadd(mul(loadN(d + i, n), loadN(weight + i, n)), loadN(x + i, n), s);
      });
      const V coef = set1(rs * rs * rs * hsum(s) / static_cast<float>(C));
      const V vr = set1(rs);
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        const V xi = loadN(x + i, n), di = loadN(d + i, n);
        storeN(dw + i, fmadd(mul(di, xi), vr, loadN(dw + i, n)), n);
        storeN(dInp + off + i, fnmadd(xi, coef, mul(mul(vr, loadN(weight + i, n)), di)), n);
      });
    }
  });
}

// inp (N,C), weight, bias (C) -> out (N,C), mean (N), rstd (N); biased variance
void layernormForward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                      const float* bias, int N, int C, float eps) {
  using namespace simd;
  parallelRows(N, C, [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const float* x = inp + static_cast<size_t>(r) * C;
      float* o = out + static_cast<size_t>(r) * C;
      V s = zero();
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) { s = add(s, loadN(x + i, n)); });
      const float mu = hsum(s) / static_cast<float>(C);
      const V vm = set1(mu);
      V q = zero();
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        const V dx = keepFirst(sub(loadN(x + i, n), vm), n);  // tail lanes would be (0 - mu)
        q = fmadd(dx, dx, q);
      });
      const float rs = 1.f / std::sqrt(hsum(q) / static_cast<float>(C) + eps);
      mean[r] = mu;
      rstd[r] = rs;
      const V vr = set1(rs);
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        const V xh = mul(sub(loadN(x + i, n), vm), vr);
        storeN(o + i, fmadd(xh, loadN(weight + i, n), loadN(bias + i, n)), n);
      });
    }
  });
}

// xhat = (x - mean) rstd, g = dOut w:
// dInp = rstd (g - mean(g) - xhat mean(g xhat)) (overwritten); dWeight += dOut xhat; dBias += dOut
void layernormBackward(float* dInp, float* dWeight, float* dBias, const float* dOut, const float* inp,
                       const float* weight, const float* mean, const float* rstd, int N, int C) {
  using namespace simd;
  float* outs[2] = {dWeight, dBias};
  norms::rowsAccumulate(N, C, 2, outs, [&](int r0, int r1, float* const* acc) {
    float* dw = acc[0];
    float* db = acc[1];
    for (int r = r0; r < r1; r++) {
      const size_t off = static_cast<size_t>(r) * C;
      const float* x = inp + off;
      const float* d = dOut + off;
      const V vm = set1(mean[r]), vr = set1(rstd[r]);
      V s1 = zero(), s2 = zero();
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        const V g = opaque(mul(loadN(d + i, n), loadN(weight + i, n)));  // same rounding in both sweeps
        const V xh = mul(sub(loadN(x + i, n), vm), vr);
        s1 = add(s1, g);
        s2 = fmadd(g, xh, s2);  // tail lanes: g = 0, so no correction needed
      });
      const V m1 = set1(hsum(s1) / static_cast<float>(C)), m2 = set1(hsum(s2) / static_cast<float>(C));
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) {
        const V di = loadN(d + i, n);
        const V xh = mul(sub(loadN(x + i, n), vm), vr);
        const V g = opaque(mul(di, loadN(weight + i, n)));
        storeN(dw + i, fmadd(di, xh, loadN(dw + i, n)), n);
        storeN(db + i, add(loadN(db + i, n), di), n);
        storeN(dInp + off + i, mul(vr, fnmadd(xh, m2, sub(g, m1))), n);
      });
    }
  });
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
