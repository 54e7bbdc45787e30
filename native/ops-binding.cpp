// N-API wrappers of the non-GEMM ops. PLACEHOLDER until the op kernels land: registers nothing.
#include <napi.h>

namespace distill {

void registerOps(Napi::Env env, Napi::Object exports) {}

}  // namespace distill
