// A grow-only, 64-byte-aligned scratch array: allocates when a call needs more than any before,
// never shrinks, never frees on the hot path. In an anonymous namespace on purpose: each
// translation unit (each compiled with its own ISA flags) keeps its own copy, so a copy built
// with AVX-512 flags is never the one the linker hands to generic code.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

namespace distill {
namespace {

template <class T>
struct GrowBuffer {
  T* p = nullptr;
  size_t cap = 0;  // elements
  T* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = static_cast<T*>(std::aligned_alloc(64, ((n * sizeof(T) + 63) / 64) * 64));
      if (!p) throw std::bad_alloc();
      cap = n;
    }
    return p;
  }
};

}  // namespace
}  // namespace distill
