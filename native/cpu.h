// Run-time instruction-set detection. DISTILL_ISA=avx512|avx2|scalar caps the choice (for tests
// and benchmarks of the slower paths); it can lower the ISA, never raise it above the CPU's.
#pragma once

namespace distill {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Isa detectIsa();          // what the CPU (and OS) support
Isa activeIsa();          // detected, capped by $DISTILL_ISA; cached after the first call
const char* isaName(Isa isa);

}  // namespace distill
