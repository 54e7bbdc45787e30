// The non-GEMM op kernels compiled for avx2 (binding.gyp gives this folder its -m flags):
// instantiates native/kernels/*-impl.h in namespace distill::avx2. No code of its own.
#if !defined(__AVX2__) || !defined(__FMA__) || defined(__AVX512F__)
#error "native/isa/avx2 must be compiled with -mavx2 -mfma and without AVX-512 (see binding.gyp)"
#endif
#define DISTILL_ISA_NS avx2
#include "kernels/ops-table-impl.h"
