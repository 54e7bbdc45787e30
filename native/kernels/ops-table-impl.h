// Includes every kernel family for the ISA named by DISTILL_ISA_NS and defines its opsTable().
// Included exactly once, by native/isa/<isa>/ops-<isa>.cpp; holds no kernel code itself.
#pragma once
#include "ops.h"

#include "kernels/attention-impl.h"
#include "kernels/cross-entropy-impl.h"
#include "kernels/elementwise-impl.h"
#include "kernels/embed-rope-impl.h"
#include "kernels/head-loss-impl.h"
#include "kernels/kd-loss-impl.h"
#include "kernels/norms-impl.h"
#include "kernels/topk-impl.h"

namespace distill {
namespace DISTILL_ISA_NS {

const OpsTable& opsTable() {
  static const OpsTable table = {
      embeddingForward, embeddingBackward, rmsnormForward,      rmsnormBackward,      layernormForward,
      layernormBackward, ropeForward,      ropeBackward,        attentionForward,     attentionBackward,
      siluForward,      siluBackward,      geluForward,         geluBackward,         swigluForward,
      swigluBackward,   crossEntropyForward, crossEntropyBackward, adamwStep,          topkForward,
      topkBackward,     headLossForwardBackward, kdForwardBackward,
  };
  return table;
}

}  // namespace DISTILL_ISA_NS
}  // namespace distill
