// Bench-only: measures this machine's fp32 FMA peak (GFLOP/s) with 24 independent AVX-512
// FMA chains, on 1 and on N threads, so GEMM figures can be stated as % of measured peak.
// Not part of the addon. Build/run: g++ -O2 -mavx512f -pthread bench/peak-fma.cpp -o /tmp/peak-fma && /tmp/peak-fma [threads]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

// 24 independent accumulators (zmm8..zmm31) hide the 4-cycle FMA latency on 2 FMA ports; the
// loop is inline asm so the compiler cannot spill them. One iteration = 24 FMAs x 16 lanes x 2.
static void spin(long iters) {
#define F(r) "vfmadd231ps %%zmm0, %%zmm1, %%zmm" #r "\n\t"
  __asm__ volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "1:\n\t"
      F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15) F(16) F(17) F(18) F(19)
      F(20) F(21) F(22) F(23) F(24) F(25) F(26) F(27) F(28) F(29) F(30) F(31)
      "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
#undef F
}

int main(int argc, char** argv) {
  const int maxThreads = argc > 1 ? std::atoi(argv[1]) : static_cast<int>(std::thread::hardware_concurrency());
  const long iters = 20000000;  // ~0.1-0.2 s per thread at ~3 GHz
  const double flopPerThread = 24.0 * 16 * 2 * iters;
  for (int nt = 1; nt <= maxThreads; nt++) {
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
      std::vector<std::thread> ts;
      auto t0 = std::chrono::steady_clock::now();
      for (int t = 0; t < nt; t++) ts.emplace_back([&] { spin(iters); });
      for (auto& t : ts) t.join();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double g = flopPerThread * nt / s / 1e9;
      if (g > best) best = g;
    }
    std::printf("threads %d: peak fp32 FMA %.1f GFLOP/s (best of 5)\n", nt, best);
  }
  return 0;
}
