// Writes our config + params as a GGUF v3 model file that llama.cpp loads: llama.cpp's tensor
// names (gguf-names.ts), `{arch}.*` hyperparameters, optional tokenizer metadata, and tensor types
// F32 / F16 / Q8_0 / Q4_0 / Q4_K / Q6_K with llama.cpp's rule that 1-D tensors (norms, biases)
// stay F32. Rotary rows are permuted to the order the arch's llama.cpp rope expects.

import { type ModelConfig, ConfigError, headSize } from '../model/config.js';
import { buildLayout, paramView } from '../model/layout.js';
import { GGML_TYPES, GgmlType, GgufType } from './gguf-format.js';
import type { GgufKv } from './gguf.js';
import { writeFileAtomic } from './atomic-write.js';
import { type GgufTensorToWrite, encodeGguf } from './gguf-encode.js';
import { GGUF_ARCHS, ggufNameRules, oursToGguf } from './gguf-names.js';
import { quantize } from './gguf-quantize.js';
import { type GgufTokenizerMeta, ggufTokenizerKvs } from './gguf-tokenizer-meta.js';
import { interleavedToHalfRows } from './hf-names.js';

export type GgufWriteType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';
export const GGUF_WRITE_TYPES: readonly GgufWriteType[] = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/** llama_ftype for general.file_type (llama.h): what most tensors hold. */
const FILE_TYPE: Record<GgufWriteType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K: 14 /* Q4_K_S */, Q6_K: 18 };
const TYPE_ID: Record<GgufWriteType, number> = { F32: GgmlType.F32, F16: GgmlType.F16, Q8_0: GgmlType.Q8_0, Q4_0: GgmlType.Q4_0, Q4_K: GgmlType.Q4_K, Q6_K: GgmlType.Q6_K };

export interface GgufWriteOptions {
  /** Type of the 2-D tensors (default F32). */
  type?: GgufWriteType;
  /** Vocabulary to store (llama.cpp needs one to run the file). */
  tokenizer?: GgufTokenizerMeta;
  /** general.name (default 'distill'). */
  name?: string;
  /** Called after each tensor is converted (quantizing is the slow part): for a progress line. */
  onTensor?: (done: number, total: number) => void;
}

export interface GgufEncoded {
  bytes: Buffer;
  arch: string;
  /** GGUF tensor name -> the ggml type name it was written as. */
  tensorTypes: Record<string, string>;
}

/** llama for plain Llama/Mistral configs, qwen2 when q/k/v carry biases, gpt2 for GPT-2. */
function archOf(c: ModelConfig): string {
  return c.family === 'gpt2' ? 'gpt2' : c.qkvBias ? 'qwen2' : 'llama';
}

/**
 * The type a tensor is written as: 1-D stays F32 (llama.cpp quantizes only 2-D weights); a row
 * length that is not a multiple of the block size falls back to Q8_0 (k-quants) or F16.
 */
function tensorType(want: GgufWriteType, dims: number[]): number {
  if (dims.length === 1) return GgmlType.F32;
  const fits = (t: number): boolean => dims[0] % GGML_TYPES[t].blockSize === 0;
  const t = TYPE_ID[want];
  if (fits(t)) return t;
  if ((t === GgmlType.Q4_K || t === GgmlType.Q6_K) && fits(GgmlType.Q8_0)) return GgmlType.Q8_0;
  return GgmlType.F16;
}

function hyperparameters(c: ModelConfig, arch: string): [string, GgufKv][] {
  const u32 = (v: number): GgufKv => ({ type: GgufType.UINT32, value: v });
  const f32 = (v: number): GgufKv => ({ type: GgufType.FLOAT32, value: v });
  const kvs: [string, GgufKv][] = [
    [`${arch}.vocab_size`, u32(c.vocabSize)],
    [`${arch}.context_length`, u32(c.maxSeqLen)],
    [`${arch}.embedding_length`, u32(c.dim)],
    [`${arch}.block_count`, u32(c.nLayers)],
    [`${arch}.feed_forward_length`, u32(c.hiddenDim)],
    [`${arch}.attention.head_count`, u32(c.nHeads)],
  ];
  if (c.family === 'gpt2') return [...kvs, [`${arch}.attention.layer_norm_epsilon`, f32(c.normEps)]];
  return [
    ...kvs,
    [`${arch}.attention.head_count_kv`, u32(c.nKvHeads)],
    [`${arch}.rope.dimension_count`, u32(headSize(c))],
    [`${arch}.rope.freq_base`, f32(c.ropeTheta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(c.normEps)],
  ];
}

/** The GGUF bytes of a model (see the file comment). */
export function encodeGgufModel(config: ModelConfig, params: Float32Array, opts: GgufWriteOptions = {}): GgufEncoded {
  const layout = buildLayout(config);
  if (params.length !== layout.total) throw new ConfigError(`params has ${params.length} values, the config's layout needs ${layout.total}`);
  const want = opts.type ?? 'F32';
  if (!GGUF_WRITE_TYPES.includes(want)) throw new ConfigError(`GGUF tensor type '${String(want)}' is not one the writer supports; expected one of ${GGUF_WRITE_TYPES.join(', ')}`);
  const arch = archOf(config);
  if (opts.tokenizer && opts.tokenizer.tokens.length > config.vocabSize) {
    throw new ConfigError(`the tokenizer has ${opts.tokenizer.tokens.length} tokens but the model's embedding has ${config.vocabSize} rows`);
  }
  // llama.cpp ropes llama "normal" (interleaved pairs) and qwen2 NEOX (half split): permute q/k rows to match.
  const fileRope = GGUF_ARCHS[arch].ropeMode;
  const permute = config.family === 'llama' && config.ropeMode !== fileRope;
  const hs = headSize(config);
  const view = (n: string): Float32Array => {
    const v = paramView(layout, params, n);
    const kind = n.slice(n.lastIndexOf('.') + 1);
    if (!permute || !['wq', 'bq', 'wk', 'bk'].includes(kind)) return v;
    const heads = kind[1] === 'q' ? config.nHeads : config.nKvHeads;
    return interleavedToHalfRows(v, heads, hs, kind[0] === 'w' ? config.dim : 1, fileRope === 'interleaved');
  };
  const tensorTypes: Record<string, string> = {};
  const rules = ggufNameRules(config);
  const tensors: GgufTensorToWrite[] = rules.map((rule, i) => {
    const type = tensorType(want, rule.dims);
    tensorTypes[rule.gguf] = GGML_TYPES[type].name;
    const data = quantize(type, oursToGguf(rule.ours.map(view)));
    opts.onTensor?.(i + 1, rules.length);
    return { name: rule.gguf, dims: rule.dims, type, data };
  });
  const quantized = Object.values(tensorTypes).some((t) => t !== 'F32' && t !== 'F16');
  const kvs: [string, GgufKv][] = [
    ['general.architecture', { type: GgufType.STRING, value: arch }],
    ['general.name', { type: GgufType.STRING, value: opts.name ?? 'distill' }],
    ['general.alignment', { type: GgufType.UINT32, value: 32 }], // gguf.c's default, written out for readers that want it
    ['general.file_type', { type: GgufType.UINT32, value: FILE_TYPE[want] }],
    ...(quantized ? [['general.quantization_version', { type: GgufType.UINT32, value: 2 }] as [string, GgufKv]] : []), // ggml's GGML_QNT_VERSION
    ...hyperparameters(config, arch),
    ...(opts.tokenizer ? ggufTokenizerKvs(opts.tokenizer) : []),
  ];
  return { bytes: encodeGguf(kvs, tensors), arch, tensorTypes };
}

/** Bytes of tensor data a GGUF of this type holds for a model of `config` (the same type rule as
 *  the writer, no quantizing; metadata and vocabulary come on top): export sizes for reports. */
export function ggufWeightBytes(config: ModelConfig, type: GgufWriteType): number {
  let bytes = 0;
  for (const rule of ggufNameRules(config)) {
    const t = GGML_TYPES[tensorType(type, rule.dims)];
    bytes += (rule.dims.reduce((a, b) => a * b, 1) / t.blockSize) * t.typeSize;
  }
  return bytes;
}

/** Writes the model atomically (tmp file, then rename); returns what each tensor was written as. */
export function writeGgufModel(path: string, config: ModelConfig, params: Float32Array, opts: GgufWriteOptions = {}): Omit<GgufEncoded, 'bytes'> {
  const { bytes, ...rest } = encodeGgufModel(config, params, opts);
  writeFileAtomic(path, bytes);
  return rest;
}
