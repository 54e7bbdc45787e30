// Argument checks shared by the op bindings (ops-binding.cpp, head-loss-binding.cpp): sizes,
// signed integers and id ranges, each failure a RangeError naming the op and the argument.
// No allocation on the success path; nothing here calls a kernel.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "napi-args.h"

namespace distill {

using Info = Napi::CallbackInfo;

[[noreturn]] inline void rangeError(const Info& info, const std::string& msg) {
  throw Napi::RangeError::New(info.Env(), msg);
}

inline size_t mul(size_t a, size_t b) { return a * b; }

// Throws unless `have` >= `want`, naming the op, the argument and the size formula.
inline void need(const Info& info, const char* op, const char* arg, size_t have, size_t want, const char* formula) {
  if (have < want)
    rangeError(info, std::string(op) + ": argument '" + arg + "' has " + std::to_string(have) +
                         " elements, needs " + formula + " = " + std::to_string(want));
}

// An integer that may be negative (ignoreIndex).
inline int signedIntArg(const Info& info, size_t i, const char* name) {
  double d = numArg(info, i, name);
  if (d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0)
    rangeError(info, std::string("argument '") + name + "' must be a 32-bit integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

// An integer field that may be negative (ignoreIndex).
inline int signedIntField(const Info& info, napi_value obj, const char* name) {
  double d = numField(info.Env(), obj, name);
  if (d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0)
    rangeError(info, std::string("argument '") + name + "' must be a 32-bit integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

// Every ids[i] (i < n) must lie in [0, limit), except those equal to `skip` when allowSkip.
inline void checkIds(const Info& info, const char* op, const char* arg, const int32_t* ids, size_t n, int limit,
              const char* limitName, bool allowSkip = false, int skip = 0) {
  for (size_t i = 0; i < n; i++) {
    const int32_t id = ids[i];
    if ((id < 0 || id >= limit) && !(allowSkip && id == skip))
      rangeError(info, std::string(op) + ": " + arg + "[" + std::to_string(i) + "] = " + std::to_string(id) +
                           " is outside [0, " + limitName + "=" + std::to_string(limit) + ")" +
                           (allowSkip ? " and is not ignoreIndex=" + std::to_string(skip) : std::string()));
  }
}

}  // namespace distill
