// Bench-only: times oneDNN's dnnl_sgemm (row-major) for one (M,K,N) in NN, NT, TN and prints
// "med best" GFLOP/s per layout, one line each. Built on demand by bench/gemm-onednn.ts against
// the runtime libdnnl.so.2 (no dev headers needed); not part of the addon build.
// Usage: gemm-onednn M K N seconds   (threads: OMP_NUM_THREADS)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// From oneDNN's C API (dnnl.h): row-major sgemm, dnnl_dim_t = int64_t, returns dnnl_status_t.
extern "C" int dnnl_sgemm(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha,
                          const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                          float* C, int64_t ldc);

int main(int argc, char** argv) {
  if (argc < 5) { std::fprintf(stderr, "usage: gemm-onednn M K N seconds\n"); return 2; }
  const long M = std::atol(argv[1]), K = std::atol(argv[2]), N = std::atol(argv[3]);
  const double budget = std::atof(argv[4]);
  std::vector<float> A(M * K), B(K * N), C(M * N);
  for (size_t i = 0; i < A.size(); i++) A[i] = static_cast<float>(i % 97) / 97.f - 0.5f;
  for (size_t i = 0; i < B.size(); i++) B[i] = static_cast<float>(i % 89) / 89.f - 0.5f;
  const double flop = 2.0 * M * N * K;
  for (int lay = 0; lay < 3; lay++) {
    const bool tA = lay == 2, tB = lay == 1;
    auto call = [&] {
      if (dnnl_sgemm(tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K, 1.f, A.data(), tA ? M : K, B.data(),
                     tB ? K : N, 0.f, C.data(), N) != 0) { std::fprintf(stderr, "dnnl_sgemm failed\n"); std::exit(1); }
    };
    auto secs = [&] {
      auto t0 = std::chrono::steady_clock::now();
      call();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    call(); call();
    const double once = secs();
    const int reps = std::max(5, std::min(200, static_cast<int>(budget / std::max(once, 1e-6))));
    std::vector<double> ts;
    for (int r = 0; r < reps; r++) ts.push_back(secs());
    std::sort(ts.begin(), ts.end());
    std::printf("%.3f %.3f\n", flop / ts[reps / 2] / 1e9, flop / ts[0] / 1e9);
  }
  return 0;
}
