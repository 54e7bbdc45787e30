// bf16 weights and the GEMM that reads them (Backend.packBf16 / gemmBf16): C (M,N) = bf16(A) (M,K)
// · bf16(W)ᵀ, products summed in fp32, + beta·C. W (N,K) is frozen (a teacher's), so it is rounded
// to bf16 (round to nearest even) and laid out once; A is rounded on every call. Two paths with
// the same numbers up to fp32 summation order: 'amx' (Intel AMX tiles, native/isa/amx) where the
// CPU and OS allow it, else 'emulated' (row-major bf16 expanded to fp32 for distill::gemm).
// DISTILL_AMX=0 forces 'emulated'. Not reentrant (one call at a time, from the JS thread).
#pragma once
#include <cstddef>
#include <cstdint>

namespace distill {

enum class Bf16Path { Emulated = 0, Amx = 1 };

Bf16Path bf16Path();                 // chosen once per process
const char* bf16PathName(Bf16Path p);
size_t bf16PackedLength(int N, int K);  // uint16 elements packBf16 writes for the active path
void packBf16(const float* W, int N, int K, uint16_t* out);
// Bp packed for N' >= N rows of W (a padded head: its first N rows are used). Neither layout depends
// on N' (a row group / row sits at the same place whatever follows), so it is not an argument.
void bf16Gemm(int M, int N, int K, const float* A, const uint16_t* Bp, float beta, float* C);

// Round to nearest even, NaN kept quiet: the value torch's .bfloat16() gives.
static inline uint16_t toBf16(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
static inline float fromBf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float x;
  __builtin_memcpy(&x, &u, 4);
  return x;
}

namespace amx {
bool usable();  // CPU has AMX-TILE + AMX-BF16 and the kernel granted tile data (arch_prctl)
size_t packedLength(int N, int K);
void pack(const float* W, int N, int K, uint16_t* out);
void gemm(int M, int N, int K, const float* A, const uint16_t* Bp, float beta, float* C);
}  // namespace amx

}  // namespace distill
