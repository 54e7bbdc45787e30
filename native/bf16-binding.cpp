// N-API wrappers of the bf16 weight ops (Backend.packBf16 / gemmBf16, src/engine/backend.ts):
// check sizes, then call bf16.h. The packed layout depends on the path (bf16Path), so the JS side
// tags packed weights with it and never hands one path's layout to the other.
#include <napi.h>

#include "bf16.h"
#include "binding-checks.h"
#include "napi-args.h"

namespace distill {
namespace {

// bf16PackedLength(N, K): uint16 elements packBf16 writes on this path
Napi::Value Bf16PackedLength(const Info& info) {
  int N = intArg(info, 0, "N"), K = intArg(info, 1, "K");
  return Napi::Number::New(info.Env(), static_cast<double>(bf16PackedLength(N, K)));
}

// packBf16(out, w, N, K)
void PackBf16(const Info& info) {
  const char* op = "packBf16";
  U16Arg out = u16Arg(info, 0, "out");
  F32Arg w = f32Arg(info, 1, "w");
  int N = intArg(info, 2, "N"), K = intArg(info, 3, "K");
  need(info, op, "w", w.length, mul(N, K), "N*K");
  need(info, op, "out", out.length, bf16PackedLength(N, K), "bf16PackedLength(N, K)");
  packBf16(w.data, N, K, out.data);
}

// gemmBf16(c, a, packed, M, N, K, packedN, beta)
void GemmBf16(const Info& info) {
  const char* op = "gemmBf16";
  F32Arg c = f32Arg(info, 0, "c"), a = f32Arg(info, 1, "a");
  U16Arg b = u16Arg(info, 2, "packed");
  int M = intArg(info, 3, "M"), N = intArg(info, 4, "N"), K = intArg(info, 5, "K"), PN = intArg(info, 6, "packedN");
  float beta = static_cast<float>(numArg(info, 7, "beta"));
  if (N > PN) rangeError(info, std::string(op) + ": N = " + std::to_string(N) + " exceeds the packed weight's rows " + std::to_string(PN));
  need(info, op, "c", c.length, mul(M, N), "M*N");
  need(info, op, "a", a.length, mul(M, K), "M*K");
  need(info, op, "packed", b.length, bf16PackedLength(PN, K), "bf16PackedLength(packedN, K)");
  bf16Gemm(M, N, K, a.data, b.data, beta, c.data);
}

}  // namespace

void registerBf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16PackedLength", Napi::Function::New(env, Bf16PackedLength, "bf16PackedLength"));
  exports.Set("packBf16", Napi::Function::New(env, PackBf16, "packBf16"));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16, "gemmBf16"));
}

}  // namespace distill
