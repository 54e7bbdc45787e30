// GEMM entry point: C (M,N) = alpha * op(A) op(B) + beta * C, row-major, contiguous.
// op(A) (M,K) is A (M,K) or, with transA, A stored (K,M); op(B) (K,N) is B (K,N) or, with transB,
// B stored (N,K). beta == 0 never reads C. Threads come from distill::pool().
// Implementations: native/isa/<isa>/gemm-*.cpp; gemm.cpp dispatches on activeIsa().
#pragma once

namespace distill {

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
          const float* B, float beta, float* C);

// One implementation per ISA (each compiled with its own flags).
namespace scalar { void gemm(bool, bool, int, int, int, float, const float*, const float*, float, float*); }
namespace avx2 { void gemm(bool, bool, int, int, int, float, const float*, const float*, float, float*); }
namespace avx512 { void gemm(bool, bool, int, int, int, float, const float*, const float*, float, float*); }

}  // namespace distill
