// N-API wrappers of the non-GEMM ops (src/engine/backend.ts, same names and argument order):
// check types, sizes and ids/targets/indices, throwing a RangeError that names the op and the
// argument, then call the kernel for the active ISA (ops.h). No allocation on the success path.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "binding-checks.h"
#include "napi-args.h"
#include "ops.h"
#include "sample.h"

namespace distill {
namespace {

using Info = Napi::CallbackInfo;

// embeddingForward(out, ids, table, N, V, C)
void EmbeddingForward(const Info& info) {
  const char* op = "embeddingForward";
  F32Arg out = f32Arg(info, 0, "out"), table = f32Arg(info, 2, "table");
  I32Arg ids = i32Arg(info, 1, "ids");
  int N = intArg(info, 3, "N"), V = intArg(info, 4, "V"), C = intArg(info, 5, "C");
  need(info, op, "out", out.length, mul(N, C), "N*C");
  need(info, op, "ids", ids.length, N, "N");
  need(info, op, "table", table.length, mul(V, C), "V*C");
  checkIds(info, op, "ids", ids.data, N, V, "V");
  ops().embeddingForward(out.data, ids.data, table.data, N, C);
}

// embeddingBackward(dTable, dOut, ids, N, V, C)
void EmbeddingBackward(const Info& info) {
  const char* op = "embeddingBackward";
  F32Arg dTable = f32Arg(info, 0, "dTable"), dOut = f32Arg(info, 1, "dOut");
  I32Arg ids = i32Arg(info, 2, "ids");
  int N = intArg(info, 3, "N"), V = intArg(info, 4, "V"), C = intArg(info, 5, "C");
  need(info, op, "dTable", dTable.length, mul(V, C), "V*C");
  need(info, op, "dOut", dOut.length, mul(N, C), "N*C");
  need(info, op, "ids", ids.length, N, "N");
  checkIds(info, op, "ids", ids.data, N, V, "V");
  ops().embeddingBackward(dTable.data, dOut.data, ids.data, N, C);
}

// rmsnormForward(out, rstd, inp, weight, N, C, eps)
void RmsnormForward(const Info& info) {
  const char* op = "rmsnormForward";
  F32Arg out = f32Arg(info, 0, "out"), rstd = f32Arg(info, 1, "rstd"), inp = f32Arg(info, 2, "inp"),
         weight = f32Arg(info, 3, "weight");
  int N = intArg(info, 4, "N"), C = intArg(info, 5, "C");
  float eps = static_cast<float>(numArg(info, 6, "eps"));
  need(info, op, "out", out.length, mul(N, C), "N*C");
  need(info, op, "rstd", rstd.length, N, "N");
  need(info, op, "inp", inp.length, mul(N, C), "N*C");
  need(info, op, "weight", weight.length, C, "C");
  if (N == 0 || C == 0) return;
  ops().rmsnormForward(out.data, rstd.data, inp.data, weight.data, N, C, eps);
}

// rmsnormBackward(dInp, dWeight, dOut, inp, weight, rstd, N, C)
void RmsnormBackward(const Info& info) {
  const char* op = "rmsnormBackward";
  F32Arg dInp = f32Arg(info, 0, "dInp"), dWeight = f32Arg(info, 1, "dWeight"), dOut = f32Arg(info, 2, "dOut"),
         inp = f32Arg(info, 3, "inp"), weight = f32Arg(info, 4, "weight"), rstd = f32Arg(info, 5, "rstd");
  int N = intArg(info, 6, "N"), C = intArg(info, 7, "C");
  need(info, op, "dInp", dInp.length, mul(N, C), "N*C");
  need(info, op, "dWeight", dWeight.length, C, "C");
  need(info, op, "dOut", dOut.length, mul(N, C), "N*C");
  need(info, op, "inp", inp.length, mul(N, C), "N*C");
  need(info, op, "weight", weight.length, C, "C");
  need(info, op, "rstd", rstd.length, N, "N");
  if (N == 0 || C == 0) return;
  ops().rmsnormBackward(dInp.data, dWeight.data, dOut.data, inp.data, weight.data, rstd.data, N, C);
}

// layernormForward(out, mean, rstd, inp, weight, bias, N, C, eps)
void LayernormForward(const Info& info) {
  const char* op = "layernormForward";
  F32Arg out = f32Arg(info, 0, "out"), mean = f32Arg(info, 1, "mean"), rstd = f32Arg(info, 2, "rstd"),
         inp = f32Arg(info, 3, "inp"), weight = f32Arg(info, 4, "weight"), bias = f32Arg(info, 5, "bias");
  int N = intArg(info, 6, "N"), C = intArg(info, 7, "C");
  float eps = static_cast<float>(numArg(info, 8, "eps"));
  need(info, op, "out", out.length, mul(N, C), "N*C");
  need(info, op, "mean", mean.length, N, "N");
  need(info, op, "rstd", rstd.length, N, "N");
  need(info, op, "inp", inp.length, mul(N, C), "N*C");
  need(info, op, "weight", weight.length, C, "C");
  need(info, op, "bias", bias.length, C, "C");
  if (N == 0 || C == 0) return;
  ops().layernormForward(out.data, mean.data, rstd.data, inp.data, weight.data, bias.data, N, C, eps);
}

// layernormBackward(dInp, dWeight, dBias, dOut, inp, weight, mean, rstd, N, C)
void LayernormBackward(const Info& info) {
  const char* op = "layernormBackward";
  F32Arg dInp = f32Arg(info, 0, "dInp"), dWeight = f32Arg(info, 1, "dWeight"), dBias = f32Arg(info, 2, "dBias"),
         dOut = f32Arg(info, 3, "dOut"), inp = f32Arg(info, 4, "inp"), weight = f32Arg(info, 5, "weight"),
         mean = f32Arg(info, 6, "mean"), rstd = f32Arg(info, 7, "rstd");
  int N = intArg(info, 8, "N"), C = intArg(info, 9, "C");
  need(info, op, "dInp", dInp.length, mul(N, C), "N*C");
  need(info, op, "dWeight", dWeight.length, C, "C");
  need(info, op, "dBias", dBias.length, C, "C");
  need(info, op, "dOut", dOut.length, mul(N, C), "N*C");
  need(info, op, "inp", inp.length, mul(N, C), "N*C");
  need(info, op, "weight", weight.length, C, "C");
  need(info, op, "mean", mean.length, N, "N");
  need(info, op, "rstd", rstd.length, N, "N");
  if (N == 0 || C == 0) return;
  ops().layernormBackward(dInp.data, dWeight.data, dBias.data, dOut.data, inp.data, weight.data, mean.data,
                          rstd.data, N, C);
}

// ropeForward / ropeBackward(out, inp, cos, sin, B, T, NH, HS, mode)
template <bool Forward>
void Rope(const Info& info) {
  const char* op = Forward ? "ropeForward" : "ropeBackward";
  F32Arg out = f32Arg(info, 0, Forward ? "out" : "dInp"), inp = f32Arg(info, 1, Forward ? "inp" : "dOut"),
         cosT = f32Arg(info, 2, "cos"), sinT = f32Arg(info, 3, "sin");
  int B = intArg(info, 4, "B"), T = intArg(info, 5, "T"), NH = intArg(info, 6, "NH"), HS = intArg(info, 7, "HS");
  int mode = intArg(info, 8, "mode");
  if (mode > 1) rangeError(info, std::string(op) + ": mode must be 0 (interleaved) or 1 (half), got " + std::to_string(mode));
  if (HS % 2 != 0) rangeError(info, std::string(op) + ": head size HS=" + std::to_string(HS) + " must be even");
  const size_t n = mul(mul(mul(B, T), NH), HS);
  need(info, op, Forward ? "out" : "dInp", out.length, n, "B*T*NH*HS");
  need(info, op, Forward ? "inp" : "dOut", inp.length, n, "B*T*NH*HS");
  need(info, op, "cos", cosT.length, mul(T, HS / 2), "T*HS/2");
  need(info, op, "sin", sinT.length, mul(T, HS / 2), "T*HS/2");
  if (n == 0) return;
  (Forward ? ops().ropeForward : ops().ropeBackward)(out.data, inp.data, cosT.data, sinT.data, B, T, NH, HS, mode);
}

struct AttnDims { int B, Tq, Tk, NH, NKV, HS; };

AttnDims attnDims(const Info& info, const char* op, size_t first) {
  AttnDims d{intArg(info, first, "B"), intArg(info, first + 1, "Tq"), intArg(info, first + 2, "Tk"),
             intArg(info, first + 3, "NH"), intArg(info, first + 4, "NKV"), intArg(info, first + 5, "HS")};
  if (d.NH < 1 || d.NKV < 1 || d.NH % d.NKV != 0)
    rangeError(info, std::string(op) + ": NH=" + std::to_string(d.NH) + " must be a positive multiple of NKV=" +
                         std::to_string(d.NKV));
  if (d.HS < 1) rangeError(info, std::string(op) + ": head size HS must be >= 1");
  if (d.Tq > d.Tk)
    rangeError(info, std::string(op) + ": Tq=" + std::to_string(d.Tq) + " exceeds Tk=" + std::to_string(d.Tk) +
                         " (queries are the last Tq of the Tk positions)");
  return d;
}

// attentionForward(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS)
void AttentionForward(const Info& info) {
  const char* op = "attentionForward";
  F32Arg out = f32Arg(info, 0, "out"), lse = f32Arg(info, 1, "lse"), q = f32Arg(info, 2, "q"),
         k = f32Arg(info, 3, "k"), v = f32Arg(info, 4, "v");
  AttnDims d = attnDims(info, op, 5);
  const size_t nq = mul(mul(mul(d.B, d.Tq), d.NH), d.HS), nkv = mul(mul(mul(d.B, d.Tk), d.NKV), d.HS);
  need(info, op, "out", out.length, nq, "B*Tq*NH*HS");
  need(info, op, "lse", lse.length, mul(mul(d.B, d.NH), d.Tq), "B*NH*Tq");
  need(info, op, "q", q.length, nq, "B*Tq*NH*HS");
  need(info, op, "k", k.length, nkv, "B*Tk*NKV*HS");
  need(info, op, "v", v.length, nkv, "B*Tk*NKV*HS");
  if (nq == 0) return;
  ops().attentionForward(out.data, lse.data, q.data, k.data, v.data, d.B, d.Tq, d.Tk, d.NH, d.NKV, d.HS);
}

// attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS)
void AttentionBackward(const Info& info) {
  const char* op = "attentionBackward";
  F32Arg dq = f32Arg(info, 0, "dq"), dk = f32Arg(info, 1, "dk"), dv = f32Arg(info, 2, "dv"),
         dOut = f32Arg(info, 3, "dOut"), q = f32Arg(info, 4, "q"), k = f32Arg(info, 5, "k"),
         v = f32Arg(info, 6, "v"), out = f32Arg(info, 7, "out"), lse = f32Arg(info, 8, "lse");
  AttnDims d = attnDims(info, op, 9);
  const size_t nq = mul(mul(mul(d.B, d.Tq), d.NH), d.HS), nkv = mul(mul(mul(d.B, d.Tk), d.NKV), d.HS);
  need(info, op, "dq", dq.length, nq, "B*Tq*NH*HS");
  need(info, op, "dk", dk.length, nkv, "B*Tk*NKV*HS");
  need(info, op, "dv", dv.length, nkv, "B*Tk*NKV*HS");
  need(info, op, "dOut", dOut.length, nq, "B*Tq*NH*HS");
  need(info, op, "q", q.length, nq, "B*Tq*NH*HS");
  need(info, op, "k", k.length, nkv, "B*Tk*NKV*HS");
  need(info, op, "v", v.length, nkv, "B*Tk*NKV*HS");
  need(info, op, "out", out.length, nq, "B*Tq*NH*HS");
  need(info, op, "lse", lse.length, mul(mul(d.B, d.NH), d.Tq), "B*NH*Tq");
  if (nkv == 0) return;
  if (nq == 0) {  // no queries: every key gradient is zero (overwritten)
    for (size_t i = 0; i < nkv; i++) dk.data[i] = dv.data[i] = 0.f;
    return;
  }
  ops().attentionBackward(dq.data, dk.data, dv.data, dOut.data, q.data, k.data, v.data, out.data, lse.data, d.B,
                          d.Tq, d.Tk, d.NH, d.NKV, d.HS);
}

// Elementwise ops over n: one output (or two for swigluBackward), inputs after it.
using Unary = void (*)(float*, const float*, size_t);
using Binary = void (*)(float*, const float*, const float*, size_t);

template <Unary OpsTable::*Fn>
void UnaryOp(const Info& info, const char* op, const char* a0, const char* a1) {
  F32Arg o = f32Arg(info, 0, a0), x = f32Arg(info, 1, a1);
  int n = intArg(info, 2, "n");
  need(info, op, a0, o.length, n, "n");
  need(info, op, a1, x.length, n, "n");
  (ops().*Fn)(o.data, x.data, n);
}

template <Binary OpsTable::*Fn>
void BinaryOp(const Info& info, const char* op, const char* a0, const char* a1, const char* a2) {
  F32Arg o = f32Arg(info, 0, a0), x = f32Arg(info, 1, a1), y = f32Arg(info, 2, a2);
  int n = intArg(info, 3, "n");
  need(info, op, a0, o.length, n, "n");
  need(info, op, a1, x.length, n, "n");
  need(info, op, a2, y.length, n, "n");
  (ops().*Fn)(o.data, x.data, y.data, n);
}

void SiluForward(const Info& i) { UnaryOp<&OpsTable::siluForward>(i, "siluForward", "out", "inp"); }
void GeluForward(const Info& i) { UnaryOp<&OpsTable::geluForward>(i, "geluForward", "out", "inp"); }
void SiluBackward(const Info& i) { BinaryOp<&OpsTable::siluBackward>(i, "siluBackward", "dInp", "dOut", "inp"); }
void GeluBackward(const Info& i) { BinaryOp<&OpsTable::geluBackward>(i, "geluBackward", "dInp", "dOut", "inp"); }
void SwigluForward(const Info& i) { BinaryOp<&OpsTable::swigluForward>(i, "swigluForward", "out", "gate", "up"); }

// swigluBackward(dGate, dUp, dOut, gate, up, n)
void SwigluBackward(const Info& info) {
  const char* op = "swigluBackward";
  F32Arg dGate = f32Arg(info, 0, "dGate"), dUp = f32Arg(info, 1, "dUp"), dOut = f32Arg(info, 2, "dOut"),
         gate = f32Arg(info, 3, "gate"), up = f32Arg(info, 4, "up");
  int n = intArg(info, 5, "n");
  need(info, op, "dGate", dGate.length, n, "n");
  need(info, op, "dUp", dUp.length, n, "n");
  need(info, op, "dOut", dOut.length, n, "n");
  need(info, op, "gate", gate.length, n, "n");
  need(info, op, "up", up.length, n, "n");
  ops().swigluBackward(dGate.data, dUp.data, dOut.data, gate.data, up.data, n);
}

// crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex)
void CrossEntropyForward(const Info& info) {
  const char* op = "crossEntropyForward";
  F32Arg losses = f32Arg(info, 0, "losses"), lse = f32Arg(info, 1, "lse"), logits = f32Arg(info, 2, "logits");
  I32Arg targets = i32Arg(info, 3, "targets");
  int N = intArg(info, 4, "N"), V = intArg(info, 5, "V"), ignoreIndex = signedIntArg(info, 6, "ignoreIndex");
  need(info, op, "losses", losses.length, N, "N");
  need(info, op, "lse", lse.length, N, "N");
  need(info, op, "logits", logits.length, mul(N, V), "N*V");
  need(info, op, "targets", targets.length, N, "N");
  if (N > 0 && V == 0) rangeError(info, std::string(op) + ": V must be >= 1");
  checkIds(info, op, "targets", targets.data, N, V, "V", true, ignoreIndex);
  ops().crossEntropyForward(losses.data, lse.data, logits.data, targets.data, N, V, ignoreIndex);
}

// crossEntropyBackward(dLogits, dLosses, logits, lse, targets, N, V, ignoreIndex)
void CrossEntropyBackward(const Info& info) {
  const char* op = "crossEntropyBackward";
  F32Arg dLogits = f32Arg(info, 0, "dLogits"), dLosses = f32Arg(info, 1, "dLosses"),
         logits = f32Arg(info, 2, "logits"), lse = f32Arg(info, 3, "lse");
  I32Arg targets = i32Arg(info, 4, "targets");
  int N = intArg(info, 5, "N"), V = intArg(info, 6, "V"), ignoreIndex = signedIntArg(info, 7, "ignoreIndex");
  need(info, op, "dLogits", dLogits.length, mul(N, V), "N*V");
  need(info, op, "dLosses", dLosses.length, N, "N");
  need(info, op, "logits", logits.length, mul(N, V), "N*V");
  need(info, op, "lse", lse.length, N, "N");
  need(info, op, "targets", targets.length, N, "N");
  checkIds(info, op, "targets", targets.data, N, V, "V", true, ignoreIndex);
  ops().crossEntropyBackward(dLogits.data, dLosses.data, logits.data, lse.data, targets.data, N, V, ignoreIndex);
}

// adamwStep(params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step)
void AdamwStep(const Info& info) {
  const char* op = "adamwStep";
  F32Arg p = f32Arg(info, 0, "params"), g = f32Arg(info, 1, "grads"), m = f32Arg(info, 2, "m"), v = f32Arg(info, 3, "v");
  int n = intArg(info, 4, "n");
  double lr = numArg(info, 5, "lr"), b1 = numArg(info, 6, "beta1"), b2 = numArg(info, 7, "beta2");
  double eps = numArg(info, 8, "eps"), wd = numArg(info, 9, "weightDecay");
  int step = intArg(info, 10, "step");
  need(info, op, "params", p.length, n, "n");
  need(info, op, "grads", g.length, n, "n");
  need(info, op, "m", m.length, n, "n");
  need(info, op, "v", v.length, n, "n");
  if (step < 1) rangeError(info, std::string(op) + ": step must be >= 1 (the first update is step 1), got " + std::to_string(step));
  if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
    rangeError(info, std::string(op) + ": beta1 and beta2 must lie in [0, 1), got " + std::to_string(b1) + ", " + std::to_string(b2));
  // Scalars in double, as torch/optim/adamw.py computes them in Python, then rounded to float.
  AdamwScalars s;
  s.decay = static_cast<float>(1.0 - lr * wd);
  s.beta1 = static_cast<float>(b1);
  s.oneMinusBeta1 = static_cast<float>(1.0 - b1);
  s.beta2 = static_cast<float>(b2);
  s.oneMinusBeta2 = static_cast<float>(1.0 - b2);
  s.stepSize = static_cast<float>(lr / (1.0 - std::pow(b1, step)));
  s.bc2Sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(b2, step)));
  s.eps = static_cast<float>(eps);
  ops().adamwStep(p.data, g.data, m.data, v.data, n, s);
}

// topkForward(values, indices, inp, N, V, k)
void TopkForward(const Info& info) {
  const char* op = "topkForward";
  F32Arg values = f32Arg(info, 0, "values"), inp = f32Arg(info, 2, "inp");
  I32Arg indices = i32Arg(info, 1, "indices");
  int N = intArg(info, 3, "N"), V = intArg(info, 4, "V"), k = intArg(info, 5, "k");
  if (k > V) rangeError(info, std::string(op) + ": k=" + std::to_string(k) + " exceeds V=" + std::to_string(V));
  need(info, op, "values", values.length, mul(N, k), "N*k");
  need(info, op, "indices", indices.length, mul(N, k), "N*k");
  need(info, op, "inp", inp.length, mul(N, V), "N*V");
  if (N == 0 || k == 0) return;
  ops().topkForward(values.data, indices.data, inp.data, N, V, k);
}

// sampleRows(out, logits, N, V, temperature, topK, topP, uniforms)
void SampleRows(const Info& info) {
  const char* op = "sampleRows";
  I32Arg out = i32Arg(info, 0, "out");
  F32Arg logits = f32Arg(info, 1, "logits");
  int N = intArg(info, 2, "N"), V = intArg(info, 3, "V");
  double temperature = numArg(info, 4, "temperature");
  int topK = intArg(info, 5, "topK");
  double topP = numArg(info, 6, "topP");
  void* u = nullptr;
  size_t uLen = 0;
  if (!typedArrayOf(info, 7, napi_float64_array, &u, &uLen)) throw Napi::TypeError::New(info.Env(), "argument 'uniforms' must be a Float64Array");
  if (V == 0) rangeError(info, std::string(op) + ": V must be at least 1");
  if (!(topP > 0 && topP <= 1)) rangeError(info, std::string(op) + ": topP must be in (0, 1], got " + std::to_string(topP));
  need(info, op, "out", out.length, static_cast<size_t>(N), "N");
  need(info, op, "logits", logits.length, mul(N, V), "N*V");
  need(info, op, "uniforms", uLen, static_cast<size_t>(N), "N");
  sampleRows(out.data, logits.data, N, V, temperature, topK, topP, static_cast<const double*>(u));
}

// topkBackward(dInp, dValues, indices, N, V, k)
void TopkBackward(const Info& info) {
  const char* op = "topkBackward";
  F32Arg dInp = f32Arg(info, 0, "dInp"), dValues = f32Arg(info, 1, "dValues");
  I32Arg indices = i32Arg(info, 2, "indices");
  int N = intArg(info, 3, "N"), V = intArg(info, 4, "V"), k = intArg(info, 5, "k");
  if (k > V) rangeError(info, std::string(op) + ": k=" + std::to_string(k) + " exceeds V=" + std::to_string(V));
  need(info, op, "dInp", dInp.length, mul(N, V), "N*V");
  need(info, op, "dValues", dValues.length, mul(N, k), "N*k");
  need(info, op, "indices", indices.length, mul(N, k), "N*k");
  checkIds(info, op, "indices", indices.data, mul(N, k), V, "V");
  ops().topkBackward(dInp.data, dValues.data, indices.data, N, V, k);
}

// scratchInfo() -> { threadBytes, sharedBytes, grows }: lets tests check that repeated calls do
// not allocate (grows stays put once the largest shapes have been seen).
Napi::Value ScratchInfo(const Info& info) {
  ScratchStats s = scratchStats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("threadBytes", static_cast<double>(s.threadBytes));
  o.Set("sharedBytes", static_cast<double>(s.sharedBytes));
  o.Set("grows", static_cast<double>(s.grows));
  return o;
}

}  // namespace

void registerLosses(Napi::Env env, Napi::Object exports);  // loss-binding.cpp

void registerOps(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, void (*fn)(const Info&)) { exports.Set(name, Napi::Function::New(env, fn, name)); };
  add("embeddingForward", EmbeddingForward);
  add("embeddingBackward", EmbeddingBackward);
  add("rmsnormForward", RmsnormForward);
  add("rmsnormBackward", RmsnormBackward);
  add("layernormForward", LayernormForward);
  add("layernormBackward", LayernormBackward);
  add("ropeForward", Rope<true>);
  add("ropeBackward", Rope<false>);
  add("attentionForward", AttentionForward);
  add("attentionBackward", AttentionBackward);
  add("siluForward", SiluForward);
  add("siluBackward", SiluBackward);
  add("geluForward", GeluForward);
  add("geluBackward", GeluBackward);
  add("swigluForward", SwigluForward);
  add("swigluBackward", SwigluBackward);
  add("crossEntropyForward", CrossEntropyForward);
  add("crossEntropyBackward", CrossEntropyBackward);
  add("adamwStep", AdamwStep);
  add("topkForward", TopkForward);
  add("topkBackward", TopkBackward);
  add("sampleRows", SampleRows);
  registerLosses(env, exports);
  exports.Set("scratchInfo", Napi::Function::New(env, ScratchInfo, "scratchInfo"));
}

}  // namespace distill
