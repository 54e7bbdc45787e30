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
struct U16Arg { uint16_t* data; size_t length; };

// One napi_get_typedarray_info per array and one napi_get_value_double per number: the
// node-addon-api wrappers make 3-5 engine calls each, most of a small op's call overhead.
inline bool typedArrayOf(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) {
    napi_value exc;  // not a typed array: clear the pending error, the caller throws its own
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &exc);
    return false;
  }
  return type == want;
}

inline bool typedArrayOf(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type want, void** data, size_t* length) {
  return i < info.Length() && typedArrayOf(info.Env(), info[i], want, data, length);
}

inline F32Arg f32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  void* data = nullptr;
  size_t length = 0;
  if (!typedArrayOf(info, i, napi_float32_array, &data, &length))
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a Float32Array");
  return {static_cast<float*>(data), length};
}

inline I32Arg i32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  void* data = nullptr;
  size_t length = 0;
  if (!typedArrayOf(info, i, napi_int32_array, &data, &length))
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be an Int32Array");
  return {static_cast<int32_t*>(data), length};
}

inline U16Arg u16Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  void* data = nullptr;
  size_t length = 0;
  if (!typedArrayOf(info, i, napi_uint16_array, &data, &length))
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a Uint16Array");
  return {static_cast<uint16_t*>(data), length};
}

inline double numArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = 0;
  if (i >= info.Length() || napi_get_value_double(info.Env(), info[i], &d) != napi_ok)
    throw Napi::TypeError::New(info.Env(), std::string("argument '") + name + "' must be a number");
  return d;
}

inline int intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = numArg(info, i, name);
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)) || d > 2147483647.0)
    throw Napi::RangeError::New(info.Env(), std::string("argument '") + name + "' must be a non-negative integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

// ---- Named fields of one argument object (the loss ops take one object, not positional numbers).
// A missing or null field is an error unless `optional` (then an empty array / the default).

inline napi_value field(napi_env env, napi_value obj, const char* name) {
  napi_value v = nullptr;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) throw Napi::TypeError::New(env, std::string("argument object has no readable '") + name + "'");
  return v;
}

inline bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null;
}

template <class Arg, class T>
inline Arg typedField(napi_env env, napi_value obj, const char* name, napi_typedarray_type want, const char* typeName, bool optional) {
  napi_value v = field(env, obj, name);
  if (optional && isNullish(env, v)) return {nullptr, 0};
  void* data = nullptr;
  size_t length = 0;
  if (!typedArrayOf(env, v, want, &data, &length))
    throw Napi::TypeError::New(env, std::string("argument '") + name + "' must be " + typeName + (optional ? " (or null)" : ""));
  return {static_cast<T*>(data), length};
}

inline F32Arg f32Field(napi_env env, napi_value obj, const char* name, bool optional = false) {
  return typedField<F32Arg, float>(env, obj, name, napi_float32_array, "a Float32Array", optional);
}
inline I32Arg i32Field(napi_env env, napi_value obj, const char* name, bool optional = false) {
  return typedField<I32Arg, int32_t>(env, obj, name, napi_int32_array, "an Int32Array", optional);
}
inline U16Arg u16Field(napi_env env, napi_value obj, const char* name, bool optional = false) {
  return typedField<U16Arg, uint16_t>(env, obj, name, napi_uint16_array, "a Uint16Array", optional);
}

// A number field; `optional` fields that are missing read as `def`.
inline double numField(napi_env env, napi_value obj, const char* name, bool optional = false, double def = 0) {
  napi_value v = field(env, obj, name);
  if (optional && isNullish(env, v)) return def;
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw Napi::TypeError::New(env, std::string("argument '") + name + "' must be a number");
  return d;
}

// A non-negative integer field.
inline int intField(napi_env env, napi_value obj, const char* name, bool optional = false, int def = 0) {
  double d = numField(env, obj, name, optional, def);
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)) || d > 2147483647.0)
    throw Napi::RangeError::New(env, std::string("argument '") + name + "' must be a non-negative integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

inline bool boolField(napi_env env, napi_value obj, const char* name) {
  napi_value v = field(env, obj, name);
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) throw Napi::TypeError::New(env, std::string("argument '") + name + "' must be a boolean");
  return b;
}

inline napi_value objField(napi_env env, napi_value obj, const char* name) {
  napi_value v = field(env, obj, name);
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_object) throw Napi::TypeError::New(env, std::string("argument '") + name + "' must be an object");
  return v;
}

// Throws unless the array holds at least `need` elements.
inline void needLen(const Napi::CallbackInfo& info, size_t have, size_t need, const char* name) {
  if (have < need)
    throw Napi::RangeError::New(info.Env(), std::string("argument '") + name + "' has " + std::to_string(have) +
                                                " elements, needs " + std::to_string(need));
}

}  // namespace distill
