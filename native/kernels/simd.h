// A minimal vector type over the ISA this translation unit is compiled for: 16 lanes (AVX-512),
// 8 (AVX2) or 1 (scalar), so each kernel is written once. Included by native/isa/<isa>/ops-*.cpp
// after defining DISTILL_ISA_NS; it is not a general SIMD library (only what the kernels use).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifndef DISTILL_ISA_NS
#error "define DISTILL_ISA_NS (avx512 | avx2 | scalar) before including native/kernels/*"
#endif

namespace distill {
namespace DISTILL_ISA_NS {
namespace simd {

// exp(x) constants: n = round(x / ln2), r = x - n ln2 (ln2 split in two for exactness), then a
// degree-6 polynomial on |r| <= ln2/2 (the classic Cephes expf coefficients), about 1 ulp.
constexpr float kExpHi = 88.72f;             // keeps n <= 128: larger x gives +inf (true result overflows)
constexpr float kExpLo = -87.3365447505531f;  // below: 0 (true result is subnormal)
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3333452e-3f,
                kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

#if defined(__AVX512F__)
// GCC 12's AVX-512 intrinsic headers trip -W(maybe-)uninitialized on their own `__Y = __Y`
// placeholders (GCC bug 105593); silence both for this ISA's translation unit only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
constexpr int W = 16;
using V = __m512;
using M = __mmask16;
inline __mmask16 firstN(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
inline V zero() { return _mm512_setzero_ps(); }
inline V set1(float x) { return _mm512_set1_ps(x); }
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline V loadN(const float* p, int n) { return n == W ? load(p) : _mm512_maskz_loadu_ps(firstN(n), p); }
inline V loadNOr(const float* p, int n, float fill) {  // lanes >= n read as fill
  return n == W ? load(p) : _mm512_mask_loadu_ps(_mm512_set1_ps(fill), firstN(n), p);
}
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline void storeN(float* p, V v, int n) { if (n == W) store(p, v); else _mm512_mask_storeu_ps(p, firstN(n), v); }
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
inline V sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V div(V a, V b) { return _mm512_div_ps(a, b); }
inline V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }   // a*b + c
inline V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); } // c - a*b
inline V max(V a, V b) { return _mm512_max_ps(a, b); }
inline V min(V a, V b) { return _mm512_min_ps(a, b); }
inline V sqrt(V a) { return _mm512_sqrt_ps(a); }
// Own reductions: GCC 12's _mm512_reduce_*_ps trip -Wmaybe-uninitialized.
inline float hsum(V a) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float hmax(V a) {
  const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline M cmpLe(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline M cmpLt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline V select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
inline unsigned bits(M m) { return static_cast<unsigned>(m); }  // bit l set = lane l true
inline V keepFirst(V v, int n) { return n == W ? v : _mm512_maskz_mov_ps(firstN(n), v); }  // lanes >= n -> 0
inline V iota() { return _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0); }
inline V roundNearest(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// Strided gather: lane l reads p[l * stride] (index vector from strideIndex).
using VI = __m512i;
inline VI strideIndex(int stride) {
  return _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(stride));
}
inline V gather(const float* p, VI idx) { return _mm512_i32gather_ps(idx, p, 4); }
// Pairs (rotary, interleaved): W/2 floats at p as (p0,p0,p1,p1,..); (x1,x0,x3,x2,..); and
// a*b - c in even lanes, a*b + c in odd lanes.
inline V dupPairs(const float* p) {
  return _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0),
                               _mm512_castps256_ps512(_mm256_loadu_ps(p)));
}
inline V swapPairs(V x) { return _mm512_permute_ps(x, 0xB1); }
inline V fmaddsub(V a, V b, V c) { return _mm512_fmaddsub_ps(a, b, c); }
inline V pow2n(V n) {  // 2^n for integer-valued n in [-126, 128]
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_castsi512_ps(e);
}
#elif defined(__AVX2__)
constexpr int W = 8;
using V = __m256;
using M = __m256;
inline __m256i firstN(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
}
inline V zero() { return _mm256_setzero_ps(); }
inline V set1(float x) { return _mm256_set1_ps(x); }
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline V loadN(const float* p, int n) { return n == W ? load(p) : _mm256_maskload_ps(p, firstN(n)); }
inline V loadNOr(const float* p, int n, float fill) {
  if (n == W) return load(p);
  const __m256i m = firstN(n);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline void storeN(float* p, V v, int n) { if (n == W) store(p, v); else _mm256_maskstore_ps(p, firstN(n), v); }
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V div(V a, V b) { return _mm256_div_ps(a, b); }
inline V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
inline V max(V a, V b) { return _mm256_max_ps(a, b); }
inline V min(V a, V b) { return _mm256_min_ps(a, b); }
inline V sqrt(V a) { return _mm256_sqrt_ps(a); }
inline float hsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float hmax(V a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline M cmpLe(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline M cmpLt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline V select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
inline unsigned bits(M m) { return static_cast<unsigned>(_mm256_movemask_ps(m)); }
inline V keepFirst(V v, int n) { return n == W ? v : _mm256_and_ps(v, _mm256_castsi256_ps(firstN(n))); }
inline V iota() { return _mm256_set_ps(7, 6, 5, 4, 3, 2, 1, 0); }
inline V roundNearest(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
using VI = __m256i;
inline VI strideIndex(int stride) {
  return _mm256_mullo_epi32(_mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0), _mm256_set1_epi32(stride));
}
inline V gather(const float* p, VI idx) { return _mm256_i32gather_ps(p, idx, 4); }
inline V dupPairs(const float* p) {
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0));
}
inline V swapPairs(V x) { return _mm256_permute_ps(x, 0xB1); }
inline V fmaddsub(V a, V b, V c) { return _mm256_fmaddsub_ps(a, b, c); }
inline V pow2n(V n) {
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_castsi256_ps(e);
}
#else
constexpr int W = 1;
using V = float;
using M = bool;
inline V zero() { return 0.f; }
inline V set1(float x) { return x; }
inline V load(const float* p) { return *p; }
inline V loadN(const float* p, int n) { return n > 0 ? *p : 0.f; }
inline V loadNOr(const float* p, int n, float fill) { return n > 0 ? *p : fill; }
inline void store(float* p, V v) { *p = v; }
inline void storeN(float* p, V v, int n) { if (n > 0) *p = v; }
inline V add(V a, V b) { return a + b; }
inline V sub(V a, V b) { return a - b; }
inline V mul(V a, V b) { return a * b; }
inline V div(V a, V b) { return a / b; }
inline V fmadd(V a, V b, V c) { return a * b + c; }
inline V fnmadd(V a, V b, V c) { return c - a * b; }
inline V max(V a, V b) { return a > b ? a : b; }
inline V min(V a, V b) { return a < b ? a : b; }
inline V sqrt(V a) { return std::sqrt(a); }
inline float hsum(V a) { return a; }
inline float hmax(V a) { return a; }
inline M cmpLe(V a, V b) { return a <= b; }
inline M cmpLt(V a, V b) { return a < b; }
inline V select(M m, V a, V b) { return m ? a : b; }
inline unsigned bits(M m) { return m ? 1u : 0u; }
inline V keepFirst(V v, int n) { return n > 0 ? v : 0.f; }
inline V iota() { return 0.f; }
using VI = int;
inline VI strideIndex(int) { return 0; }
inline V gather(const float* p, VI) { return *p; }
#endif

// e^x, within ~2 ulp of the true value over the float range; 0 below kExpLo, +inf above ~88.72.
#if defined(__AVX2__) || defined(__AVX512F__)
inline V exp(V x) {
  const M under = cmpLt(x, set1(kExpLo));
  x = min(max(x, set1(kExpLo)), set1(kExpHi));
  const V n = roundNearest(mul(x, set1(kLog2e)));
  V r = fnmadd(n, set1(kLn2Hi), x);
  r = fnmadd(n, set1(kLn2Lo), r);
  V p = set1(kP0);
  p = fmadd(p, r, set1(kP1));
  p = fmadd(p, r, set1(kP2));
  p = fmadd(p, r, set1(kP3));
  p = fmadd(p, r, set1(kP4));
  p = fmadd(p, r, set1(kP5));
  V y = fmadd(p, mul(r, r), add(r, set1(1.f)));
  y = mul(y, pow2n(n));
  return select(under, zero(), y);
}
#else
inline V exp(V x) { return std::exp(x); }
#endif

// Returns v unchanged but rounded and opaque to the optimizer: GCC contracts a*b+c into an FMA
// (-ffp-contract=fast is its default), which can make "g - mean(g)" nonzero when it must be 0.
inline V opaque(V v) {
#if defined(__AVX512F__)
  asm("" : "+v"(v));
#else
  asm("" : "+x"(v));
#endif
  return v;
}

// Calls f(i, count) over [0, n) in steps of W; the last call may have count < W.
template <class F>
inline void forEachVec(size_t n, F&& f) {
  size_t i = 0;
  for (; i + W <= n; i += W) f(i, W);
  if (i < n) f(i, static_cast<int>(n - i));
}

inline float dot(const float* a, const float* b, int n) {
  V s0 = zero(), s1 = zero();
  int i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = fmadd(load(a + i), load(b + i), s0);
    s1 = fmadd(load(a + i + W), load(b + i + W), s1);
  }
  for (; i < n; i += W) {
    const int c = n - i < W ? n - i : W;
    s0 = fmadd(loadN(a + i, c), loadN(b + i, c), s0);
  }
  return hsum(add(s0, s1));
}

}  // namespace simd
}  // namespace DISTILL_ISA_NS
}  // namespace distill
