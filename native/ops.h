// The non-GEMM op kernels as a table of function pointers, one table per instruction set
// (native/isa/<isa>/ops-<isa>.cpp); ops() picks the table for activeIsa(). Also the grow-only
// scratch buffers the kernels use. Argument validation lives in ops-binding.cpp, not here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace distill {

// AdamW scalars, precomputed in double by the binding the way PyTorch does it (see ops.cpp).
struct AdamwScalars {
  float decay;       // 1 - lr * weightDecay
  float beta1, oneMinusBeta1;
  float beta2, oneMinusBeta2;
  float stepSize;    // lr / (1 - beta1^step)
  float bc2Sqrt;     // sqrt(1 - beta2^step)
  float eps;
};

// The fused output head + loss (Backend.headLossForwardBackward), arguments checked by the binding
// (targets in range or ignored; sparse rows well formed). Pointers not used by the teacher kind
// may be null. count = rows whose target is not ignoreIndex (the binding counts them).
// The codes of these enums are those of the tables in src/engine/loss-kinds.ts (TEACHER_FORMS,
// DIVERGENCES, TAIL_MODES): the binding receives them as numbers. kEnumNames below lists each
// value by its table name; enumCodes() exports it and test/loss-kinds.test.ts compares.
enum class HeadTeacher : int { None = 0, Logits = 1, LogProbs = 2, Hidden = 3, Sparse = 4 };
enum class HeadDivergence : int { ForwardKl = 0, ReverseKl = 1, Jsd = 2, SkewForwardKl = 3, SkewReverseKl = 4, Tvd = 5, SoftCe = 6, Mse = 7 };
enum class HeadTail : int { Ignore = 0, Bucket = 1, Uniform = 2 };
struct EnumName { const char* list; const char* name; int code; };
inline constexpr EnumName kEnumNames[] = {
    {"teacherForms", "none", static_cast<int>(HeadTeacher::None)},
    {"teacherForms", "logits", static_cast<int>(HeadTeacher::Logits)},
    {"teacherForms", "logprobs", static_cast<int>(HeadTeacher::LogProbs)},
    {"teacherForms", "hidden", static_cast<int>(HeadTeacher::Hidden)},
    {"teacherForms", "sparse", static_cast<int>(HeadTeacher::Sparse)},
    {"divergences", "forward-kl", static_cast<int>(HeadDivergence::ForwardKl)},
    {"divergences", "reverse-kl", static_cast<int>(HeadDivergence::ReverseKl)},
    {"divergences", "jsd", static_cast<int>(HeadDivergence::Jsd)},
    {"divergences", "skew-forward-kl", static_cast<int>(HeadDivergence::SkewForwardKl)},
    {"divergences", "skew-reverse-kl", static_cast<int>(HeadDivergence::SkewReverseKl)},
    {"divergences", "tvd", static_cast<int>(HeadDivergence::Tvd)},
    {"divergences", "soft-ce", static_cast<int>(HeadDivergence::SoftCe)},
    {"divergences", "mse", static_cast<int>(HeadDivergence::Mse)},
    {"tailModes", "ignore", static_cast<int>(HeadTail::Ignore)},
    {"tailModes", "bucket", static_cast<int>(HeadTail::Bucket)},
    {"tailModes", "uniform", static_cast<int>(HeadTail::Uniform)},
};
// The largest code of each enum (the binding refuses larger ones).
constexpr int kMaxTeacherCode = static_cast<int>(HeadTeacher::Sparse);
constexpr int kMaxDivergenceCode = static_cast<int>(HeadDivergence::Mse);
constexpr int kMaxTailCode = static_cast<int>(HeadTail::Uniform);
// The teacher rows, divergence and scalars both loss ops take (fields by teacher form; those the
// form does not use may be null). count = rows whose target is not ignoreIndex.
struct LossRows {
  HeadTeacher teacher;
  const float* tDense;    // Logits / LogProbs: (N,V)
  const int32_t* ids;     // Sparse: (N,k), -1 = empty slot
  const float* tLogProbs; // Sparse: (N,k)
  const float* tail;      // Sparse: (N)
  int k;
  HeadTail tailMode;
  HeadDivergence divergence;
  float divParam;         // beta (jsd) or lambda (skew KLs)
  float temperature, lossScale, gradScale;
  int ignoreIndex, count;
};

struct HeadLossArgs : LossRows {
  float* dHidden;        // (N,C) overwritten
  float* dWeight;        // (V,C) accumulated
  float* rowCe;          // (N)
  float* rowKd;          // (N)
  const float* hidden;   // (N,C)
  const float* weight;   // (V,C)
  const int32_t* targets;  // (N)
  int N, V, C;
  const float* tHidden;   // Hidden: (N,tC)
  const float* tWeight;   // Hidden: (>=V, tC), rows [0,V) used
  int tC;
  const uint16_t* tWeightBf16;  // Hidden, optional: tWeight packed by packBf16 (>= V rows); logits by bf16Gemm
  float alpha;
  int chunkRows;
};

// The KD term alone over rows of logits (Backend.kdForwardBackward), arguments checked by the
// binding (sparse rows well formed); teacher Logits, LogProbs or Sparse. count is all N when
// targets is null. dStudent null: forward only.
struct KdArgs : LossRows {
  float* dStudent;          // (N,V) overwritten, or added to when accumulate; may be null
  float* rowLosses;         // (N)
  const float* student;     // (N,V) logits
  const int32_t* targets;   // (N), or null: no row masked
  int N, V;
  bool accumulate;
};

// Shapes as in src/engine/backend.ts. Ids/targets/indices are already range-checked.
struct OpsTable {
  void (*embeddingForward)(float* out, const int32_t* ids, const float* table, int N, int C);
  void (*embeddingBackward)(float* dTable, const float* dOut, const int32_t* ids, int N, int C);
  void (*rmsnormForward)(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps);
  void (*rmsnormBackward)(float* dInp, float* dWeight, const float* dOut, const float* inp,
                          const float* weight, const float* rstd, int N, int C);
  void (*layernormForward)(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                           const float* bias, int N, int C, float eps);
  void (*layernormBackward)(float* dInp, float* dWeight, float* dBias, const float* dOut, const float* inp,
                            const float* weight, const float* mean, const float* rstd, int N, int C);
  // mode 0 = interleaved pairs (2i, 2i+1), 1 = half pairs (i, i+HS/2). out may alias inp.
  void (*ropeForward)(float* out, const float* inp, const float* cos, const float* sin, int B, int T,
                      int NH, int HS, int mode);
  void (*ropeBackward)(float* dInp, const float* dOut, const float* cos, const float* sin, int B, int T,
                       int NH, int HS, int mode);
  void (*attentionForward)(float* out, float* lse, const float* q, const float* k, const float* v,
                           int B, int Tq, int Tk, int NH, int NKV, int HS);
  void (*attentionBackward)(float* dq, float* dk, float* dv, const float* dOut, const float* q,
                            const float* k, const float* v, const float* out, const float* lse,
                            int B, int Tq, int Tk, int NH, int NKV, int HS);
  void (*siluForward)(float* out, const float* inp, size_t n);
  void (*siluBackward)(float* dInp, const float* dOut, const float* inp, size_t n);
  void (*geluForward)(float* out, const float* inp, size_t n);
  void (*geluBackward)(float* dInp, const float* dOut, const float* inp, size_t n);
  void (*swigluForward)(float* out, const float* gate, const float* up, size_t n);
  void (*swigluBackward)(float* dGate, float* dUp, const float* dOut, const float* gate, const float* up, size_t n);
  void (*crossEntropyForward)(float* losses, float* lse, const float* logits, const int32_t* targets,
                              int N, int V, int ignoreIndex);
  void (*crossEntropyBackward)(float* dLogits, const float* dLosses, const float* logits, const float* lse,
                               const int32_t* targets, int N, int V, int ignoreIndex);
  void (*adamwStep)(float* params, const float* grads, float* m, float* v, size_t n, const AdamwScalars& s);
  void (*topkForward)(float* values, int32_t* indices, const float* inp, int N, int V, int k);
  void (*topkBackward)(float* dInp, const float* dValues, const int32_t* indices, int N, int V, int k);
  void (*headLossForwardBackward)(const HeadLossArgs& a);
  void (*kdForwardBackward)(const KdArgs& a);
};

const OpsTable& ops();  // the table for activeIsa()

namespace scalar { const OpsTable& opsTable(); }
namespace avx2 { const OpsTable& opsTable(); }
namespace avx512 { const OpsTable& opsTable(); }

// ---- Scratch: grow-only, never shrinks, allocated only when a call needs more than any before.
// Call scratchReserve from the calling (JS) thread BEFORE pool().parallelFor; inside the tasks,
// threadScratch(thread) returns that thread's block (64-byte aligned, >= bytesPerThread).
void scratchReserve(size_t bytesPerThread);
void* threadScratch(int thread);
// One shared block (64-byte aligned) for data all tasks of one op read or write in disjoint
// parts (per-chunk partial sums, attention's D). Same rule: get it before parallelFor.
void* sharedScratch(size_t bytes);

struct ScratchStats { size_t threadBytes; size_t sharedBytes; uint64_t grows; };
ScratchStats scratchStats();

// Work below this many elements runs on the calling thread (the pool call costs a few µs).
constexpr size_t kParallelMin = 32768;

}  // namespace distill
