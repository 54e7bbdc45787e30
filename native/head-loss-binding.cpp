// N-API wrapper of the fused head + loss op (headLossForwardBackward in src/engine/backend.ts):
// checks sizes, targets and sparse teacher rows as src/distill/kd-sparse.ts does, then runs the
// kernel for the active ISA and returns the mean losses. No allocation on the success path.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bf16.h"
#include "binding-checks.h"
#include "napi-args.h"
#include "ops.h"

namespace distill {
namespace {

using Info = Napi::CallbackInfo;

// headLossForwardBackward(dHidden, dWeight, rowCe, rowKd, hidden, weight, targets, N, V, C,
//   teacherKind, tA, tB, tIds, tDim, tailMode, divKind, divParam, alpha, temperature, scaleT2,
//   ignoreIndex, gradScale, chunkRows, tPacked, tPackedN) -> { loss, ce, kd, count }
// teacherKind: 0 none, 1 logits (tA (N,V)), 2 logprobs (tA (N,V)), 3 hidden (tA (N,tDim),
// tB (>=V,tDim)), 4 sparse (tIds (N,tDim) ids, tA (N,tDim) log-probs, tB (N) tail). Unused
// arrays may be empty. tPacked (empty = none): a hidden teacher's head packed by packBf16 with
// tPackedN rows, its logits then made by bf16Gemm. chunkRows 0 = default (src/engine/ref/head-loss.ts headLossChunkRows).
Napi::Value HeadLossForwardBackward(const Info& info) {
  const char* op = "headLossForwardBackward";
  auto fail = [&](const std::string& m) { rangeError(info, std::string(op) + ": " + m); };
  F32Arg dHidden = f32Arg(info, 0, "dHidden"), dWeight = f32Arg(info, 1, "dWeight"), rowCe = f32Arg(info, 2, "rowCe"),
         rowKd = f32Arg(info, 3, "rowKd"), hidden = f32Arg(info, 4, "hidden"), weight = f32Arg(info, 5, "weight");
  I32Arg targets = i32Arg(info, 6, "targets");
  int N = intArg(info, 7, "N"), V = intArg(info, 8, "V"), C = intArg(info, 9, "C");
  int kind = intArg(info, 10, "teacherKind");
  F32Arg tA = f32Arg(info, 11, "teacher array A"), tB = f32Arg(info, 12, "teacher array B");
  I32Arg tIds = i32Arg(info, 13, "teacher.ids");
  int tDim = intArg(info, 14, "teacher C or k"), tailMode = intArg(info, 15, "tailMode"), divKind = intArg(info, 16, "divergence");
  double divParam = numArg(info, 17, "divergence parameter"), alpha = numArg(info, 18, "alpha");
  double temperature = numArg(info, 19, "temperature");
  bool scaleT2 = numArg(info, 20, "scaleT2") != 0;
  int ignoreIndex = signedIntArg(info, 21, "ignoreIndex");
  double gradScale = numArg(info, 22, "gradScale");
  int chunkRows = intArg(info, 23, "chunkRows");
  U16Arg tPacked = u16Arg(info, 24, "teacher.weightBf16");
  int tPackedN = intArg(info, 25, "teacher.weightBf16 rows");
  if (kind > kMaxTeacherCode) fail("teacherKind must be a TEACHER_FORMS code, got " + std::to_string(kind));
  if (tailMode > kMaxTailCode) fail("tailMode must be a TAIL_MODES code, got " + std::to_string(tailMode));
  if (divKind > kMaxDivergenceCode) fail("divergence must be a DIVERGENCES code, got " + std::to_string(divKind));
  if (divKind == static_cast<int>(HeadDivergence::Mse)) fail("divergence 'mse' is not fused; use logits + the unfused loss");
  if (!(divParam >= 0 && divParam <= 1)) fail("divergence beta/lambda must be in [0, 1], got " + std::to_string(divParam));
  if (!(alpha >= 0 && alpha <= 1)) fail("option 'alpha' must be in [0, 1], got " + std::to_string(alpha));
  if (!(temperature > 0) || !std::isfinite(temperature)) fail("option 'temperature' must be a positive finite number, got " + std::to_string(temperature));
  if (!std::isfinite(gradScale)) fail("option 'gradScale' must be finite");
  need(info, op, "dHidden", dHidden.length, mul(N, C), "N*C");
  need(info, op, "dWeight", dWeight.length, mul(V, C), "V*C");
  need(info, op, "rowCe", rowCe.length, N, "N");
  need(info, op, "rowKd", rowKd.length, N, "N");
  need(info, op, "hidden", hidden.length, mul(N, C), "N*C");
  need(info, op, "weight", weight.length, mul(V, C), "V*C");
  need(info, op, "targets", targets.length, N, "N");
  if (N > 0 && V == 0) fail("V must be >= 1");
  checkIds(info, op, "targets", targets.data, N, V, "V", true, ignoreIndex);
  const HeadTeacher teacher = static_cast<HeadTeacher>(kind);
  if (teacher == HeadTeacher::Logits || teacher == HeadTeacher::LogProbs) {
    need(info, op, teacher == HeadTeacher::Logits ? "teacher.logits" : "teacher.logProbs", tA.length, mul(N, V), "N*V");
  } else if (teacher == HeadTeacher::Hidden) {
    need(info, op, "teacher.hidden", tA.length, mul(N, tDim), "N*teacher.C");
    need(info, op, "teacher.weight", tB.length, mul(V, tDim), "V*teacher.C");
    if (tPacked.length > 0) {
      if (tPackedN < V) fail("teacher.weightBf16 has " + std::to_string(tPackedN) + " rows, needs V = " + std::to_string(V));
      need(info, op, "teacher.weightBf16", tPacked.length, bf16PackedLength(tPackedN, tDim), "bf16PackedLength(rows, teacher.C)");
    }
  } else if (teacher == HeadTeacher::Sparse) {
    const int k = tDim;
    need(info, op, "teacher.ids", tIds.length, mul(N, k), "N*k");
    need(info, op, "teacher.logProbs", tA.length, mul(N, k), "N*k");
    need(info, op, "teacher.tail", tB.length, N, "N");
    // Rows as src/distill/kd-sparse.ts checks them (masked rows are not read).
    static std::vector<int32_t> stamp;  // grow-only: stamp[id] = last row + 1 that kept id
    if (stamp.size() < static_cast<size_t>(V)) stamp.assign(V, 0);
    else std::fill(stamp.begin(), stamp.begin() + V, 0);
    for (int i = 0; i < N; i++) {
      if (targets.data[i] == ignoreIndex) continue;
      double mass = 0;
      for (int e = 0; e < k; e++) {
        const int32_t id = tIds.data[mul(i, k) + e];
        if (id < 0) continue;
        if (id >= V) fail("teacher.ids[" + std::to_string(i) + "," + std::to_string(e) + "] = " + std::to_string(id) + " is outside [0, V=" + std::to_string(V) + ")");
        if (stamp[id] == i + 1) fail("teacher.ids row " + std::to_string(i) + " repeats id " + std::to_string(id));
        stamp[id] = i + 1;
        mass += std::exp(static_cast<double>(tA.data[mul(i, k) + e]));
      }
      const float tail = tB.data[i];
      if (!(tail >= 0)) fail("teacher.tail[" + std::to_string(i) + "] = " + std::to_string(tail) + " must be >= 0");
      if (tailMode != 0 && std::fabs(mass + tail - 1) > 1e-3)
        fail("row " + std::to_string(i) + ": sum exp(logProbs) + tail = " + std::to_string(mass + tail) +
             ", not 1; tail modes 'bucket'/'uniform' need the unrenormalized top-k (processTeacherLogitsSparse with tailBucket: true)");
    }
  }
  int count = 0;
  for (int i = 0; i < N; i++) count += targets.data[i] != ignoreIndex;
  HeadLossArgs a{};
  a.dHidden = dHidden.data; a.dWeight = dWeight.data; a.rowCe = rowCe.data; a.rowKd = rowKd.data;
  a.hidden = hidden.data; a.weight = weight.data; a.targets = targets.data;
  a.N = N; a.V = V; a.C = C;
  a.teacher = teacher;
  a.tDense = tA.data; a.tHidden = tA.data; a.tWeight = tB.data; a.tC = tDim;
  a.tWeightBf16 = teacher == HeadTeacher::Hidden && tPacked.length > 0 ? tPacked.data : nullptr;
  a.ids = tIds.data; a.tLogProbs = tA.data; a.tail = tB.data; a.k = tDim;
  a.tailMode = static_cast<HeadTail>(tailMode);
  a.divergence = static_cast<HeadDivergence>(divKind);
  a.divParam = static_cast<float>(divParam);
  a.alpha = static_cast<float>(alpha);
  a.temperature = static_cast<float>(temperature);
  a.lossScale = scaleT2 ? static_cast<float>(temperature * temperature) : 1.f;
  a.gradScale = static_cast<float>(gradScale);
  a.ignoreIndex = ignoreIndex;
  const int defRows = V > 0 ? std::max(16, (1 << 23) / V) : 1;  // = HEAD_LOSS_CHUNK_FLOATS / V
  a.chunkRows = std::max(1, chunkRows > 0 ? chunkRows : defRows);
  a.count = count;
  if (N > 0) ops().headLossForwardBackward(a);
  double ce = 0, kd = 0;
  for (int i = 0; i < N; i++) { ce += rowCe.data[i]; kd += rowKd.data[i]; }
  if (count > 0) { ce /= count; kd /= count; } else { ce = kd = 0; }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("loss", alpha * ce + (1 - alpha) * kd);
  o.Set("ce", ce);
  o.Set("kd", kd);
  o.Set("count", static_cast<double>(count));
  return o;
}

}  // namespace

void registerHeadLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("headLossForwardBackward", Napi::Function::New(env, HeadLossForwardBackward, "headLossForwardBackward"));
}

}  // namespace distill
