// Forward FLOPs per token of a model (Kaplan et al. 2020, table 1): 2 per weight of every matrix
// a token is multiplied through (the blocks' projections and the output head; the embedding
// lookup is free), plus 2 * nLayers * T * (attention width) for the scores and the weighted
// values over a context of T. It does not count norms, activations or softmax (a few per cent).
import { headSize, type ModelConfig, type ParamLayout } from '../model/index.js';

export function forwardFlopsPerToken(config: ModelConfig, layout: ParamLayout, contextLen: number): number {
  let matmul = 0;
  for (const e of layout.entries) if (e.layer >= 0 && e.shape.length === 2) matmul += e.size;
  const head = config.vocabSize * config.dim;
  const attn = config.nLayers * contextLen * headSize(config) * config.nHeads;
  return 2 * (matmul + head) + 2 * attn;
}
