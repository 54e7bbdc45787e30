// The reference backend: pure TypeScript, slow and obviously correct — the executable spec.
// PLACEHOLDER: ops land one file per op group under src/engine/ref/.
import type { Backend } from '../backend.js';

export function createRefBackend(): Backend {
  const missing = (op: string) => () => { throw new Error(`ref backend: ${op} not implemented yet`); };
  return {
    name: 'ref', isa: 'js', threads: 1,
    setThreads() { /* single-threaded by design */ },
    gemm: missing('gemm'),
    embeddingForward: missing('embeddingForward'), embeddingBackward: missing('embeddingBackward'),
    rmsnormForward: missing('rmsnormForward'), rmsnormBackward: missing('rmsnormBackward'),
    layernormForward: missing('layernormForward'), layernormBackward: missing('layernormBackward'),
    ropeForward: missing('ropeForward'), ropeBackward: missing('ropeBackward'),
    attentionForward: missing('attentionForward'), attentionBackward: missing('attentionBackward'),
    siluForward: missing('siluForward'), siluBackward: missing('siluBackward'),
    geluForward: missing('geluForward'), geluBackward: missing('geluBackward'),
    swigluForward: missing('swigluForward'), swigluBackward: missing('swigluBackward'),
    crossEntropyForward: missing('crossEntropyForward'), crossEntropyBackward: missing('crossEntropyBackward'),
    adamwStep: missing('adamwStep'),
    topkForward: missing('topkForward'), topkBackward: missing('topkBackward'),
  };
}
