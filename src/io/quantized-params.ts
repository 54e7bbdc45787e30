// A model's weights as a quantized GGUF file holds them: written by the GGUF writer with tensor
// type `type` (its rule: 1-D tensors stay f32, rows a block does not divide fall back) and read
// back through the GGUF reader's dequantization, in memory. Running these params gives exactly
// the numbers the exported file gives our engine (dequantized on load; the GEMMs stay fp32).
import type { ModelConfig } from '../model/config.js';
import { ggufToModel } from './gguf-model.js';
import { parseGguf } from './gguf.js';
import { encodeGgufModel, type GgufWriteType } from './gguf-write.js';

export function quantizedParams(config: ModelConfig, params: Float32Array, type: GgufWriteType): { params: Float32Array; tensorTypes: Record<string, string>; bytes: number } {
  const enc = encodeGgufModel(config, params, { type });
  const back = ggufToModel(parseGguf(`<${type} in memory>`, enc.bytes));
  return { params: back.params, tensorTypes: enc.tensorTypes, bytes: enc.bytes.length };
}
