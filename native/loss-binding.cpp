// N-API wrappers of the two loss ops that take one argument object: headLossForwardBackward (the
// fused head + loss) and kdForwardBackward (the KD term over logits), as src/engine/backend.ts
// defines them. Each object is read and checked once here — sizes, kind codes (the tables of
// src/engine/loss-kinds.ts, ops.h), option ranges, targets, sparse rows as src/engine/ref/kd-sparse.ts
// checks them — then the kernel for the active ISA runs. No allocation on the success path once warm.
//
// The object's fields are the Backend argument's, with kinds as codes (src/engine/native/index.ts):
//   teacher: { kind, logits | logProbs (N,V) | hidden (N,C), weight (>=V,C), C, weightBf16?
//              (Uint16Array, packBf16 of weightBf16Rows rows) | ids, logProbs (N,k), tail (N), k, tailMode }
//   divergence (code), divParam (β or λ; 0 when the divergence has none).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "bf16.h"
#include "binding-checks.h"
#include "grow-buffer.h"
#include "napi-args.h"
#include "ops.h"

namespace distill {
namespace {

using Info = Napi::CallbackInfo;

struct TeacherIn {
  HeadTeacher kind = HeadTeacher::None;
  F32Arg dense{}, hidden{}, weight{}, logProbs{}, tail{};
  I32Arg ids{};
  U16Arg bf16{};
  int C = 0, bf16Rows = 0, k = 0;
  HeadTail tailMode = HeadTail::Ignore;
};

// stamp[id] = 1 + the last row that kept id: repeated ids found without clearing per row.
GrowBuffer<int32_t>& stampBuf() { static GrowBuffer<int32_t> b; return b; }

// Sparse rows as src/engine/ref/kd-sparse.ts checks them (masked rows are not read).
void checkSparseRows(const Info& info, const char* op, const TeacherIn& t, int N, int V, const int32_t* targets, int ignoreIndex) {
  auto fail = [&](const std::string& m) { rangeError(info, std::string(op) + ": " + m); };
  int32_t* stamp = stampBuf().get(static_cast<size_t>(V));
  std::fill(stamp, stamp + V, 0);
  const int k = t.k;
  for (int i = 0; i < N; i++) {
    if (targets && targets[i] == ignoreIndex) continue;
    double mass = 0;
    for (int e = 0; e < k; e++) {
      const int32_t id = t.ids.data[mul(i, k) + e];
      if (id < 0) continue;
      if (id >= V) fail("teacher.ids[" + std::to_string(i) + "," + std::to_string(e) + "] = " + std::to_string(id) + " is outside [0, V=" + std::to_string(V) + ")");
      if (stamp[id] == i + 1) fail("teacher.ids row " + std::to_string(i) + " repeats id " + std::to_string(id));
      stamp[id] = i + 1;
      mass += std::exp(static_cast<double>(t.logProbs.data[mul(i, k) + e]));
    }
    const float tail = t.tail.data[i];
    if (!(tail >= 0)) fail("teacher.tail[" + std::to_string(i) + "] = " + std::to_string(tail) + " must be >= 0");
    if (t.tailMode != HeadTail::Ignore && std::fabs(mass + tail - 1) > 1e-3)
      fail("row " + std::to_string(i) + ": sum exp(logProbs) + tail = " + std::to_string(mass + tail) +
           ", not 1; tail modes 'bucket'/'uniform' need the unrenormalized top-k (processTeacherLogitsSparse with tailBucket: true)");
  }
}

// args.teacher for N rows over V ids: its arrays checked against the sizes, its rows if sparse.
// `fused`: the fused op (every form); else the KD op (logits, log-probs or sparse only).
TeacherIn readTeacher(const Info& info, napi_value args, const char* op, int N, int V, const int32_t* targets,
                      int ignoreIndex, bool fused) {
  napi_env env = info.Env();
  napi_value o = objField(env, args, "teacher");
  TeacherIn t;
  const int kind = intField(env, o, "kind");
  if (kind > kMaxTeacherCode) rangeError(info, std::string(op) + ": teacher.kind must be a TEACHER_FORMS code, got " + std::to_string(kind));
  t.kind = static_cast<HeadTeacher>(kind);
  if (!fused && (t.kind == HeadTeacher::None || t.kind == HeadTeacher::Hidden))
    rangeError(info, std::string(op) + ": teacher form " + std::to_string(kind) + " holds no rows of a distribution (use logits, logprobs or sparse)");
  if (t.kind == HeadTeacher::Logits || t.kind == HeadTeacher::LogProbs) {
    const char* name = t.kind == HeadTeacher::Logits ? "logits" : "logProbs";
    t.dense = f32Field(env, o, name);
    need(info, op, t.kind == HeadTeacher::Logits ? "teacher.logits" : "teacher.logProbs", t.dense.length, mul(N, V), "N*V");
  } else if (t.kind == HeadTeacher::Hidden) {
    t.hidden = f32Field(env, o, "hidden");
    t.weight = f32Field(env, o, "weight");
    t.C = intField(env, o, "C");
    need(info, op, "teacher.hidden", t.hidden.length, mul(N, t.C), "N*teacher.C");
    need(info, op, "teacher.weight", t.weight.length, mul(V, t.C), "V*teacher.C");
    t.bf16 = u16Field(env, o, "weightBf16", true);
    if (t.bf16.length > 0) {
      t.bf16Rows = intField(env, o, "weightBf16Rows");
      if (t.bf16Rows < V) rangeError(info, std::string(op) + ": teacher.weightBf16 has " + std::to_string(t.bf16Rows) + " rows, needs V = " + std::to_string(V));
      need(info, op, "teacher.weightBf16", t.bf16.length, bf16PackedLength(t.bf16Rows, t.C), "bf16PackedLength(rows, teacher.C)");
    }
  } else if (t.kind == HeadTeacher::Sparse) {
    t.ids = i32Field(env, o, "ids");
    t.logProbs = f32Field(env, o, "logProbs");
    t.tail = f32Field(env, o, "tail");
    t.k = intField(env, o, "k");
    const int mode = intField(env, o, "tailMode");
    if (mode > kMaxTailCode) rangeError(info, std::string(op) + ": teacher.tailMode must be a TAIL_MODES code, got " + std::to_string(mode));
    t.tailMode = static_cast<HeadTail>(mode);
    need(info, op, "teacher.ids", t.ids.length, mul(N, t.k), "N*k");
    need(info, op, "teacher.logProbs", t.logProbs.length, mul(N, t.k), "N*k");
    need(info, op, "teacher.tail", t.tail.length, N, "N");
    checkSparseRows(info, op, t, N, V, targets, ignoreIndex);
  }
  return t;
}

// The options both ops share, checked: divergence (code + parameter), temperature, gradScale, ignoreIndex.
struct LossOptionsIn {
  HeadDivergence divergence;
  float divParam;
  double temperature, gradScale;
  bool scaleT2;
  int ignoreIndex;
};

LossOptionsIn readOptions(const Info& info, napi_value o, const char* op, bool fused) {
  napi_env env = info.Env();
  auto fail = [&](const std::string& m) { rangeError(info, std::string(op) + ": " + m); };
  LossOptionsIn r;
  const int div = intField(env, o, "divergence");
  if (div > kMaxDivergenceCode) fail("divergence must be a DIVERGENCES code, got " + std::to_string(div));
  r.divergence = static_cast<HeadDivergence>(div);
  if (fused && r.divergence == HeadDivergence::Mse) fail("divergence 'mse' is not fused; use logits + the unfused loss");
  const double param = numField(env, o, "divParam");
  if (!(param >= 0 && param <= 1)) fail("divergence beta/lambda must be in [0, 1], got " + std::to_string(param));
  r.divParam = static_cast<float>(param);
  r.temperature = numField(env, o, "temperature");
  if (!(r.temperature > 0) || !std::isfinite(r.temperature)) fail("option 'temperature' must be a positive finite number, got " + std::to_string(r.temperature));
  r.gradScale = numField(env, o, "gradScale");
  if (!std::isfinite(r.gradScale)) fail("option 'gradScale' must be finite");
  r.scaleT2 = boolField(env, o, "scaleT2");
  r.ignoreIndex = signedIntField(info, o, "ignoreIndex");
  return r;
}

// The fields both ops share: the teacher's rows, the divergence and the scalars.
void fillRows(LossRows& r, const TeacherIn& t, const LossOptionsIn& opt, int count) {
  r.teacher = t.kind;
  r.tDense = t.dense.data;
  r.ids = t.ids.data; r.tLogProbs = t.logProbs.data; r.tail = t.tail.data; r.k = t.k; r.tailMode = t.tailMode;
  r.divergence = opt.divergence;
  r.divParam = opt.divParam;
  r.temperature = static_cast<float>(opt.temperature);
  r.lossScale = opt.scaleT2 ? static_cast<float>(opt.temperature * opt.temperature) : 1.f;
  r.gradScale = static_cast<float>(opt.gradScale);
  r.ignoreIndex = opt.ignoreIndex;
  r.count = count;
}

napi_value argumentObject(const Info& info, const char* op) {
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), std::string(op) + " takes one argument object");
  return info[0];
}

// headLossForwardBackward(args) -> { loss, ce, kd, count }; args as Backend.headLossForwardBackward's.
// chunkRows absent = default (src/engine/ref/head-loss.ts headLossChunkRows).
Napi::Value HeadLossForwardBackward(const Info& info) {
  const char* op = "headLossForwardBackward";
  napi_env env = info.Env();
  napi_value o = argumentObject(info, op);
  auto fail = [&](const std::string& m) { rangeError(info, std::string(op) + ": " + m); };
  F32Arg dHidden = f32Field(env, o, "dHidden"), dWeight = f32Field(env, o, "dWeight"), rowCe = f32Field(env, o, "rowCe"),
         rowKd = f32Field(env, o, "rowKd"), hidden = f32Field(env, o, "hidden"), weight = f32Field(env, o, "weight");
  I32Arg targets = i32Field(env, o, "targets");
  const int N = intField(env, o, "N"), V = intField(env, o, "V"), C = intField(env, o, "C");
  const LossOptionsIn opt = readOptions(info, o, op, true);
  const double alpha = numField(env, o, "alpha");
  if (!(alpha >= 0 && alpha <= 1)) fail("option 'alpha' must be in [0, 1], got " + std::to_string(alpha));
  const double chunkRows = numField(env, o, "chunkRows", true, 0);
  if (!isNullish(env, field(env, o, "chunkRows")) && !(chunkRows >= 1 && chunkRows == std::floor(chunkRows)))
    fail("option 'chunkRows' must be a positive integer, got " + std::to_string(chunkRows));
  need(info, op, "dHidden", dHidden.length, mul(N, C), "N*C");
  need(info, op, "dWeight", dWeight.length, mul(V, C), "V*C");
  need(info, op, "rowCe", rowCe.length, N, "N");
  need(info, op, "rowKd", rowKd.length, N, "N");
  need(info, op, "hidden", hidden.length, mul(N, C), "N*C");
  need(info, op, "weight", weight.length, mul(V, C), "V*C");
  need(info, op, "targets", targets.length, N, "N");
  if (N > 0 && V == 0) fail("V must be >= 1");
  checkIds(info, op, "targets", targets.data, N, V, "V", true, opt.ignoreIndex);
  const TeacherIn t = readTeacher(info, o, op, N, V, targets.data, opt.ignoreIndex, true);
  int count = 0;
  for (int i = 0; i < N; i++) count += targets.data[i] != opt.ignoreIndex;
  HeadLossArgs a{};
  fillRows(a, t, opt, count);
  a.dHidden = dHidden.data; a.dWeight = dWeight.data; a.rowCe = rowCe.data; a.rowKd = rowKd.data;
  a.hidden = hidden.data; a.weight = weight.data; a.targets = targets.data;
  a.N = N; a.V = V; a.C = C;
  a.tHidden = t.hidden.data; a.tWeight = t.weight.data; a.tC = t.C;
  a.tWeightBf16 = t.bf16.length > 0 ? t.bf16.data : nullptr;
  a.alpha = static_cast<float>(alpha);
  const int defRows = V > 0 ? std::max(16, (1 << 23) / V) : 1;  // = HEAD_LOSS_CHUNK_FLOATS / V
  a.chunkRows = std::max(1, chunkRows > 0 ? static_cast<int>(std::min(chunkRows, 2147483647.0)) : defRows);
  if (N > 0) ops().headLossForwardBackward(a);
  double ce = 0, kd = 0;
  for (int i = 0; i < N; i++) { ce += rowCe.data[i]; kd += rowKd.data[i]; }
  if (count > 0) { ce /= count; kd /= count; } else { ce = kd = 0; }
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", alpha * ce + (1 - alpha) * kd);
  out.Set("ce", ce);
  out.Set("kd", kd);
  out.Set("count", static_cast<double>(count));
  return out;
}

// kdForwardBackward(args) -> { loss, count }; args as Backend.kdForwardBackward's (dStudent and
// targets may be null; ref's `chunk` is ignored).
Napi::Value KdForwardBackward(const Info& info) {
  const char* op = "kdForwardBackward";
  napi_env env = info.Env();
  napi_value o = argumentObject(info, op);
  F32Arg dStudent = f32Field(env, o, "dStudent", true), rowLosses = f32Field(env, o, "rowLosses"),
         student = f32Field(env, o, "student");
  I32Arg targets = i32Field(env, o, "targets", true);
  const int N = intField(env, o, "N"), V = intField(env, o, "V");
  const LossOptionsIn opt = readOptions(info, o, op, false);
  const bool accumulate = boolField(env, o, "accumulate");
  if (dStudent.data) need(info, op, "dStudent", dStudent.length, mul(N, V), "N*V");
  need(info, op, "rowLosses", rowLosses.length, N, "N");
  need(info, op, "student", student.length, mul(N, V), "N*V");
  if (targets.data) need(info, op, "targets", targets.length, N, "N");
  const TeacherIn t = readTeacher(info, o, op, N, V, targets.data, opt.ignoreIndex, false);
  if (opt.divergence == HeadDivergence::Mse && t.kind == HeadTeacher::Sparse)
    rangeError(info, std::string(op) + ": divergence 'mse' works on dense teacher logits only; use a probability divergence for a sparse teacher");
  int count = N;
  if (targets.data) for (int i = 0; i < N; i++) count -= targets.data[i] == opt.ignoreIndex;
  KdArgs a{};
  fillRows(a, t, opt, count);
  a.dStudent = dStudent.data; a.rowLosses = rowLosses.data; a.student = student.data; a.targets = targets.data;
  a.N = N; a.V = V;
  a.accumulate = accumulate;
  if (N > 0 && V > 0) ops().kdForwardBackward(a);
  double sum = 0;
  for (int i = 0; i < N; i++) sum += rowLosses.data[i];
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", count > 0 ? sum / count : 0.0);
  out.Set("count", static_cast<double>(count));
  return out;
}

}  // namespace

void registerLosses(Napi::Env env, Napi::Object exports) {
  exports.Set("headLossForwardBackward", Napi::Function::New(env, HeadLossForwardBackward, "headLossForwardBackward"));
  exports.Set("kdForwardBackward", Napi::Function::New(env, KdForwardBackward, "kdForwardBackward"));
}

}  // namespace distill
