// Picks the op table for the CPU's instruction set, and owns the grow-only scratch buffers the
// kernels use (per-thread blocks and one shared block). No kernel code lives here.
#include "ops.h"

#include <new>
#include <vector>

#include "cpu.h"
#include "threadpool.h"

namespace distill {

const OpsTable& ops() {
  static const OpsTable& table = [&]() -> const OpsTable& {
    switch (activeIsa()) {
      case Isa::Avx512: return avx512::opsTable();
      case Isa::Avx2: return avx2::opsTable();
      default: return scalar::opsTable();
    }
  }();
  return table;
}

namespace {

struct Block {
  void* p = nullptr;
  size_t bytes = 0;
};

std::vector<Block> g_thread;  // one per pool thread
Block g_shared;
uint64_t g_grows = 0;

void growBlock(Block& b, size_t bytes) {
  if (b.bytes >= bytes) return;
  // Round up so a series of slightly larger requests does not reallocate every time.
  size_t want = bytes < 4096 ? 4096 : bytes + bytes / 4;
  want = (want + 63) & ~static_cast<size_t>(63);
  ::operator delete(b.p, std::align_val_t(64));
  b.p = ::operator new(want, std::align_val_t(64));
  b.bytes = want;
  g_grows++;
}

}  // namespace

void scratchReserve(size_t bytesPerThread) {
  const size_t n = static_cast<size_t>(pool().threads());
  if (g_thread.size() < n) g_thread.resize(n);  // grows only when the pool got bigger
  for (size_t i = 0; i < n; i++) growBlock(g_thread[i], bytesPerThread);
}

void* threadScratch(int thread) { return g_thread[static_cast<size_t>(thread)].p; }

void* sharedScratch(size_t bytes) {
  growBlock(g_shared, bytes);
  return g_shared.p;
}

ScratchStats scratchStats() {
  ScratchStats s{0, g_shared.bytes, g_grows};
  for (const Block& b : g_thread) s.threadBytes += b.bytes;
  return s;
}

}  // namespace distill
