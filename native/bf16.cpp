// bf16 path selection and the portable 'emulated' path (see bf16.h): bf16 values stored
// row-major (N,K), expanded to fp32 scratch with A's rounded copy, then distill::gemm.
#include "bf16.h"

#include <cstdlib>
#include <cstring>

#include "gemm.h"
#include "grow-buffer.h"

namespace distill {

namespace {
GrowBuffer<float>& aBuf() { static GrowBuffer<float> g; return g; }
GrowBuffer<float>& bBuf() { static GrowBuffer<float> g; return g; }
}  // namespace

Bf16Path bf16Path() {
  static const Bf16Path p = [] {
    const char* e = std::getenv("DISTILL_AMX");
    if (e && !std::strcmp(e, "0")) return Bf16Path::Emulated;
    return amx::usable() ? Bf16Path::Amx : Bf16Path::Emulated;
  }();
  return p;
}

const char* bf16PathName(Bf16Path p) { return p == Bf16Path::Amx ? "amx" : "emulated"; }

size_t bf16PackedLength(int N, int K) {
  return bf16Path() == Bf16Path::Amx ? amx::packedLength(N, K) : static_cast<size_t>(N) * K;
}

void packBf16(const float* W, int N, int K, uint16_t* out) {
  if (bf16Path() == Bf16Path::Amx) return amx::pack(W, N, K, out);
  for (size_t i = 0; i < static_cast<size_t>(N) * K; i++) out[i] = toBf16(W[i]);
}

void bf16Gemm(int M, int N, int K, const float* A, const uint16_t* Bp, float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (bf16Path() == Bf16Path::Amx) return amx::gemm(M, N, K, A, Bp, beta, C);
  float* a = aBuf().get(static_cast<size_t>(M) * K);
  float* b = bBuf().get(static_cast<size_t>(N) * K);
  for (size_t i = 0; i < static_cast<size_t>(M) * K; i++) a[i] = fromBf16(toBf16(A[i]));
  for (size_t i = 0; i < static_cast<size_t>(N) * K; i++) b[i] = fromBf16(Bp[i]);  // rows [0, N) of (N', K)
  gemm(false, true, M, N, K, 1.f, a, b, beta, C);
}

}  // namespace distill
