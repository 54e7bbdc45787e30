// Dispatches GEMM to the kernel compiled for the CPU's instruction set.
#include "gemm.h"

#include "cpu.h"

namespace distill {

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  switch (activeIsa()) {
    case Isa::Avx512: return avx512::gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
    case Isa::Avx2: return avx2::gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
    default: return scalar::gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
  }
}

}  // namespace distill
