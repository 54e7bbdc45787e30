// The reference backend: pure TypeScript, slow and obviously correct — the executable spec that
// native is tested against. It only wires the per-op files together; each op lives in its file.
import type { Backend } from '../backend.js';
import { gemm } from './gemm.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from './norms.js';
import { ropeBackward, ropeForward } from './rope.js';
import { attentionBackward, attentionForward } from './attention.js';
import { geluBackward, geluForward, siluBackward, siluForward, swigluBackward, swigluForward } from './activations.js';
import { crossEntropyBackward, crossEntropyForward } from './cross-entropy.js';
import { adamwStep } from './adamw.js';
import { topkBackward, topkForward } from './topk.js';
import { sampleRows } from './sample.js';
import { headLossForwardBackward } from './head-loss.js';
import { kdForwardBackward } from './kd.js';
import { gemmBf16, packBf16 } from './bf16.js';

export function createRefBackend(): Backend {
  return {
    name: 'ref', isa: 'js', threads: 1,
    setThreads() { /* single-threaded by design */ },
    gemm,
    embeddingForward, embeddingBackward,
    rmsnormForward, rmsnormBackward,
    layernormForward, layernormBackward,
    ropeForward, ropeBackward,
    attentionForward, attentionBackward,
    siluForward, siluBackward,
    geluForward, geluBackward,
    swigluForward, swigluBackward,
    crossEntropyForward, crossEntropyBackward,
    adamwStep,
    topkForward, topkBackward,
    sampleRows,
    kdForwardBackward,
    headLossForwardBackward,
    packBf16, gemmBf16,
  };
}
