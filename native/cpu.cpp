// CPU feature detection with cpuid/xgetbv (via GCC builtins), cached once per process.
#include "cpu.h"

#include <cstdlib>
#include <cstring>

namespace distill {

Isa detectIsa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

Isa activeIsa() {
  static Isa cached = [] {
    Isa isa = detectIsa();
    if (const char* e = std::getenv("DISTILL_ISA")) {
      Isa want = isa;
      if (!std::strcmp(e, "scalar")) want = Isa::Scalar;
      else if (!std::strcmp(e, "avx2")) want = Isa::Avx2;
      else if (!std::strcmp(e, "avx512")) want = Isa::Avx512;
      if (static_cast<int>(want) < static_cast<int>(isa)) isa = want;
    }
    return isa;
  }();
  return cached;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace distill
