// Argument helpers for the N-API binding: fetch a typed array's data pointer and element count,
// or a number, and throw a JS RangeError/TypeError naming the argument when it is wrong.
// They create no JS objects beyond handles and allocate nothing on the C++ heap.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace distill {

struct F32Arg { float* data; size_t length; };
struct I32Arg { int32_t* data; size_t length; };

inline F32Arg f32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

inline I32Arg i32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  return {a.Data(), a.ElementLength()};
}

inline double numArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

inline int intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = numArg(info, i, name);
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)) || d > 2147483647.0)
    throw Napi::RangeError::New(info.Env(), std::string("argument '") + name + "' must be a non-negative integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

// Throws unless the array holds at least `need` elements.
inline void needLen(const Napi::CallbackInfo& info, size_t have, size_t need, const char* name) {
  if (have < need)
    throw Napi::RangeError::New(info.Env(), std::string("argument '") + name + "' has " + std::to_string(have) +
                                                " elements, needs " + std::to_string(need));
}

}  // namespace distill
