// Bench-only: measures this machine's fp32 FMA peak (GFLOP/s) on 1..N threads with the widest FMA
// the CPU has (AVX-512: zmm; else AVX2/FMA3: ymm), capped like the engine by DISTILL_ISA=avx2, so
// GEMM and step figures can be stated as % of the peak of the code path that actually runs. Not
// part of the addon; one binary runs on any x86-64 (each loop carries its own target attribute).
// Build/run: g++ -O2 -pthread bench/peak-fma.cpp -o /tmp/peak-fma && /tmp/peak-fma [threads]
// Prints `isa <name>` then `threads N: peak fp32 FMA X GFLOP/s (best of 5)` per thread count.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#define F(w, r) "vfmadd231ps %%" w "0, %%" w "1, %%" w #r "\n\t"

// 24 independent accumulators (zmm8..zmm31) hide the FMA latency on 2 FMA ports; the loop is
// inline asm so the compiler cannot spill them. One iteration = 24 FMAs x 16 lanes x 2 FLOP.
__attribute__((target("avx512f"))) static void spinAvx512(long iters) {
  __asm__ volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "1:\n\t"
      F("zmm", 8) F("zmm", 9) F("zmm", 10) F("zmm", 11) F("zmm", 12) F("zmm", 13) F("zmm", 14) F("zmm", 15)
      F("zmm", 16) F("zmm", 17) F("zmm", 18) F("zmm", 19) F("zmm", 20) F("zmm", 21) F("zmm", 22) F("zmm", 23)
      F("zmm", 24) F("zmm", 25) F("zmm", 26) F("zmm", 27) F("zmm", 28) F("zmm", 29) F("zmm", 30) F("zmm", 31)
      "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

// AVX2 has 16 ymm registers: 14 accumulators (ymm2..ymm15), still more than the 2 ports x 4-5
// cycles of latency need. One iteration = 14 FMAs x 8 lanes x 2 FLOP.
__attribute__((target("avx2,fma"))) static void spinAvx2(long iters) {
  __asm__ volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "1:\n\t"
      F("ymm", 2) F("ymm", 3) F("ymm", 4) F("ymm", 5) F("ymm", 6) F("ymm", 7) F("ymm", 8)
      F("ymm", 9) F("ymm", 10) F("ymm", 11) F("ymm", 12) F("ymm", 13) F("ymm", 14) F("ymm", 15)
      "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}
#undef F

int main(int argc, char** argv) {
  const int maxThreads = argc > 1 ? std::atoi(argv[1]) : static_cast<int>(std::thread::hardware_concurrency());
  __builtin_cpu_init();
  // The same tests as the engine's detectIsa (native/cpu.cpp), so both name the same ISA.
  const bool hasAvx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                         __builtin_cpu_supports("fma");
  const bool hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char* cap = std::getenv("DISTILL_ISA");  // the engine's cap (native/cpu.cpp): never raises
  const bool capped = cap && (!std::strcmp(cap, "avx2") || !std::strcmp(cap, "scalar"));
  const bool use512 = hasAvx512 && !capped;
  if (!use512 && !hasAvx2) {
    std::fprintf(stderr, "peak-fma: this CPU has neither AVX-512 nor AVX2 with FMA3; no SIMD FMA peak to measure\n");
    return 2;
  }
  if (cap && !std::strcmp(cap, "scalar")) {
    std::fprintf(stderr, "peak-fma: DISTILL_ISA=scalar; the scalar path has no FMA peak to compare with\n");
    return 2;
  }
  void (*spin)(long) = use512 ? spinAvx512 : spinAvx2;
  const double flopPerIter = use512 ? 24.0 * 16 * 2 : 14.0 * 8 * 2;
  const long iters = use512 ? 20000000 : 34000000;  // ~0.1-0.2 s per thread at ~3 GHz
  std::printf("isa %s\n", use512 ? "avx512" : "avx2");
  for (int nt = 1; nt <= maxThreads; nt++) {
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
      std::vector<std::thread> ts;
      auto t0 = std::chrono::steady_clock::now();
      for (int t = 0; t < nt; t++) ts.emplace_back([&] { spin(iters); });
      for (auto& t : ts) t.join();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double g = flopPerIter * iters * nt / s / 1e9;
      if (g > best) best = g;
    }
    std::printf("threads %d: peak fp32 FMA %.1f GFLOP/s (best of 5)\n", nt, best);
  }
  return 0;
}
