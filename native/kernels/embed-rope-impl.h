// Token embedding (gather / scatter-add) and rotary embedding (both pair conventions), forward and
// backward, written once over simd::V. Ids are range-checked by the binding, not here.
// Rope reads both elements of a pair before writing them, so out may alias inp.
#pragma once
#include "kernels/parallel.h"
#include "kernels/simd.h"

namespace distill {
namespace DISTILL_ISA_NS {

// ids (N), table (V,C) -> out (N,C)
void embeddingForward(float* out, const int32_t* ids, const float* table, int N, int C) {
  using namespace simd;
  parallelRows(N, C, [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const float* src = table + static_cast<size_t>(ids[r]) * C;
      float* dst = out + static_cast<size_t>(r) * C;
      forEachVec(static_cast<size_t>(C), [&](size_t i, int n) { storeN(dst + i, loadN(src + i, n), n); });
    }
  });
}

// dTable (V,C) += dOut rows scattered at ids. Split over column blocks (never over rows), so
// repeated ids need no locks and the sum order is the row order on any thread count.
void embeddingBackward(float* dTable, const float* dOut, const int32_t* ids, int N, int C) {
  using namespace simd;
  parallelChunks(static_cast<size_t>(C), 128, static_cast<size_t>(N) * C, [&](size_t c0, size_t c1) {
    for (int r = 0; r < N; r++) {
      float* dst = dTable + static_cast<size_t>(ids[r]) * C + c0;
      const float* src = dOut + static_cast<size_t>(r) * C + c0;
      forEachVec(c1 - c0, [&](size_t i, int n) { storeN(dst + i, add(loadN(dst + i, n), loadN(src + i, n)), n); });
    }
  });
}

namespace rope {

// Rotates every pair of inp (B,T,NH,HS) by angle(t, i) * sign: sign +1 forward, -1 backward.
inline void rotate(float* out, const float* inp, const float* cosT, const float* sinT, int B, int T, int NH,
                   int HS, int mode, float sign) {
  using namespace simd;
  const int half = HS / 2;
  const size_t rowLen = static_cast<size_t>(NH) * HS;
  parallelRows(B * T, rowLen, [&](int r0, int r1) {
    for (int r = r0; r < r1; r++) {
      const int t = r % T;
      const float* cs = cosT + static_cast<size_t>(t) * half;
      const float* sn = sinT + static_cast<size_t>(t) * half;
      for (int h = 0; h < NH; h++) {
        const size_t off = static_cast<size_t>(r) * rowLen + static_cast<size_t>(h) * HS;
        const float* x = inp + off;
        float* o = out + off;
        if (mode == 1) {  // half: pairs (i, i + HS/2)
          const V sg = set1(sign);
          forEachVec(static_cast<size_t>(half), [&](size_t i, int n) {
            const V c = loadN(cs + i, n), s = mul(loadN(sn + i, n), sg);
            const V x0 = loadN(x + i, n), x1 = loadN(x + half + i, n);
            storeN(o + i, fnmadd(x1, s, mul(x0, c)), n);
            storeN(o + half + i, fmadd(x0, s, mul(x1, c)), n);
          });
        } else {  // interleaved: pairs (2i, 2i + 1)
          int i = 0;
#if defined(__AVX2__) || defined(__AVX512F__)
          // W/2 pairs per vector: out = x*cos -/+ swap(x)*sin (fmaddsub: minus in even lanes).
          const V sg = set1(sign);
          for (; 2 * i + W <= HS; i += W / 2) {
            const V xv = load(x + 2 * i);
            const V c = dupPairs(cs + i), s = mul(dupPairs(sn + i), sg);
            store(o + 2 * i, fmaddsub(xv, c, mul(swapPairs(xv), s)));
          }
#endif
          for (; i < half; i++) {
            const float c = cs[i], s = sn[i] * sign;
            const float x0 = x[2 * i], x1 = x[2 * i + 1];
            o[2 * i] = x0 * c - x1 * s;
            o[2 * i + 1] = x0 * s + x1 * c;
          }
        }
      }
    }
  });
}

}  // namespace rope

// inp (B,T,NH,HS), cos/sin (T,HS/2) -> out (B,T,NH,HS); out may alias inp
void ropeForward(float* out, const float* inp, const float* cosT, const float* sinT, int B, int T, int NH,
                 int HS, int mode) {
  rope::rotate(out, inp, cosT, sinT, B, T, NH, HS, mode, 1.f);
}

// dInp = dOut rotated by the negative angle; dInp may alias dOut
void ropeBackward(float* dInp, const float* dOut, const float* cosT, const float* sinT, int B, int T, int NH,
                  int HS, int mode) {
  rope::rotate(dInp, dOut, cosT, sinT, B, T, NH, HS, mode, -1.f);
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
