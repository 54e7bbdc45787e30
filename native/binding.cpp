// N-API surface of the native engine: one JS function per Backend op (src/engine/backend.ts),
// same argument order. Validates sizes, then calls the dispatching kernel. No heap allocation.
#include <napi.h>

#include "bf16.h"
#include "cpu.h"
#include "gemm.h"
#include "ops.h"
#include "napi-args.h"
#include "threadpool.h"

namespace distill {

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isaName(activeIsa()));
  o.Set("cpuIsa", isaName(detectIsa()));  // the CPU's best, before any DISTILL_ISA cap
  o.Set("amx", amx::usable());            // tiles usable (CPU + OS), before any DISTILL_AMX=0
  o.Set("threads", pool().threads());
  o.Set("cores", hardwareCores());
  o.Set("bf16", bf16PathName(bf16Path()));
#if defined(__clang__)
  o.Set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  o.Set("compiler", std::string("g++ ") + __VERSION__);
#else
  o.Set("compiler", "unknown");
#endif
  return o;
}

static void SetThreads(const Napi::CallbackInfo& info) {
  int n = intArg(info, 0, "threads");
  if (n < 1 || n > 256) throw Napi::RangeError::New(info.Env(), "threads must be in [1, 256]");
  setThreads(n);
}

static void Noop(const Napi::CallbackInfo& info) { (void)f32Arg(info, 0, "a"); }

// enumCodes() -> { teacherForms: {name: code}, divergences: {...}, tailModes: {...} }: the codes
// the loss ops take (ops.h kEnumNames), for the test that holds them to src/engine/loss-kinds.ts.
static Napi::Value EnumCodes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  for (const EnumName& e : kEnumNames) {
    if (!o.Has(e.list)) o.Set(e.list, Napi::Object::New(env));
    o.Get(e.list).As<Napi::Object>().Set(e.name, e.code);
  }
  return o;
}

// gemm(c, a, b, M, N, K, transA, transB, alpha, beta)
static void Gemm(const Napi::CallbackInfo& info) {
  F32Arg c = f32Arg(info, 0, "c"), a = f32Arg(info, 1, "a"), b = f32Arg(info, 2, "b");
  int M = intArg(info, 3, "M"), N = intArg(info, 4, "N"), K = intArg(info, 5, "K");
  bool tA = numArg(info, 6, "transA") != 0, tB = numArg(info, 7, "transB") != 0;
  float alpha = static_cast<float>(numArg(info, 8, "alpha")), beta = static_cast<float>(numArg(info, 9, "beta"));
  needLen(info, c.length, static_cast<size_t>(M) * N, "c");
  needLen(info, a.length, static_cast<size_t>(M) * K, "a");
  needLen(info, b.length, static_cast<size_t>(K) * N, "b");
  if (M == 0 || N == 0) return;
  gemm(tA, tB, M, N, K, alpha, a.data, b.data, beta, c.data);
}

// Registers the non-GEMM ops (native/ops-binding.cpp).
void registerOps(Napi::Env env, Napi::Object exports);
// Registers packBf16 / gemmBf16 (native/bf16-binding.cpp).
void registerBf16(Napi::Env env, Napi::Object exports);

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));
  exports.Set("enumCodes", Napi::Function::New(env, EnumCodes, "enumCodes"));
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  registerOps(env, exports);
  registerBf16(env, exports);
  return exports;
}

}  // namespace distill

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return distill::Init(env, exports); }

NODE_API_MODULE(distill_native, InitAddon)
