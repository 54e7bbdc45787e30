// The non-GEMM op kernels compiled for avx512 (binding.gyp gives this folder its -m flags):
// instantiates native/kernels/*-impl.h in namespace distill::avx512. No code of its own.
#if !defined(__AVX512F__)
#error "native/isa/avx512 must be compiled with -mavx512f (see binding.gyp)"
#endif
#define DISTILL_ISA_NS avx512
#include "kernels/ops-table-impl.h"
