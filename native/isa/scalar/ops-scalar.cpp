// The non-GEMM op kernels compiled for scalar (binding.gyp gives this folder its -m flags):
// instantiates native/kernels/*-impl.h in namespace distill::scalar. No code of its own.
#if defined(__AVX2__)
#error "native/isa/scalar must be compiled without ISA flags (see binding.gyp)"
#endif
#define DISTILL_ISA_NS scalar
#include "kernels/ops-table-impl.h"
