// Reads and writes llama2.c checkpoints (karpathy/llama2.c): the legacy format (7 int32 header,
// f32 weights, rope tables) and the versioned "ak42" v1 (f32) and v2 (int8 Q8_0 groups) exports.
// Maps them onto our parameter layout; it does not run the model or touch tokenizers.

import { readFileSync } from 'node:fs';
import { type ModelConfig, ConfigError, headSize, validateConfig } from '../model/config.js';
import { buildLayout, paramView, type ParamLayout } from '../model/layout.js';
import { writeFileAtomic } from './atomic-write.js';
import { FormatError } from './errors.js';
import { halfToInterleavedRows } from './hf-names.js';
import { checkParamsFit } from './params-fit.js';

/** "ak42" read as a little-endian uint32: the magic of llama2.c's versioned exports. */
export const LLAMA2C_MAGIC = 0x616b3432;
const VERSIONED_HEADER_BYTES = 256;
const LEGACY_HEADER_BYTES = 28;

export type Llama2cVersion = 'legacy' | 1 | 2;

export interface Llama2cModel {
  config: ModelConfig;
  params: Float32Array;
  version: Llama2cVersion;
  /** v2 only: the quantization group size. */
  groupSize?: number;
}

/** llama2.c's fixed choices: interleaved rotary pairs, eps 1e-5, theta 10000, no biases. */
function llama2cConfig(h: number[], tied: boolean): ModelConfig {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen] = h;
  return {
    family: 'llama', dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen,
    normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: tied, qkvBias: false,
  };
}

const perLayer = (c: ModelConfig, kind: string): string[] => Array.from({ length: c.nLayers }, (_, l) => `layers.${l}.${kind}`);
const MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'];

/** Tensor order of each format, as our canonical names ('@rope' marks the skipped legacy tables). */
function fileOrder(c: ModelConfig, version: Llama2cVersion): { f32: string[]; q8: string[] } {
  const head = c.tiedEmbeddings ? [] : ['output'];
  const mats = MATRICES.flatMap((k) => perLayer(c, k));
  if (version === 'legacy') {
    const mid = ['wq', 'wk', 'wv', 'wo'].flatMap((k) => perLayer(c, k));
    const ffn = ['w1', 'w2', 'w3'].flatMap((k) => perLayer(c, k));
    return { f32: ['tok_embeddings', ...perLayer(c, 'attn_norm'), ...mid, ...perLayer(c, 'ffn_norm'), ...ffn, 'norm', '@rope', ...head], q8: [] };
  }
  const norms = [...perLayer(c, 'attn_norm'), ...perLayer(c, 'ffn_norm'), 'norm'];
  if (version === 1) return { f32: [...norms, 'tok_embeddings', ...mats, ...head], q8: [] };
  return { f32: norms, q8: ['tok_embeddings', ...mats, ...head] };
}

const ropeFloats = (c: ModelConfig): number => 2 * c.maxSeqLen * (headSize(c) / 2);

function expectedBytes(c: ModelConfig, layout: ParamLayout, version: Llama2cVersion, groupSize: number): number {
  const { f32, q8 } = fileOrder(c, version);
  let bytes = version === 'legacy' ? LEGACY_HEADER_BYTES : VERSIONED_HEADER_BYTES;
  for (const n of f32) bytes += 4 * (n === '@rope' ? ropeFloats(c) : layout.byName.get(n)!.size);
  for (const n of q8) {
    const size = layout.byName.get(n)!.size;
    bytes += size + 4 * (size / groupSize);
  }
  return bytes;
}

function checkedConfig(path: string, header: number[], tied: boolean): ModelConfig {
  const c = llama2cConfig(header, tied);
  try {
    return validateConfig(c, `llama2.c header (dim ${header[0]}, hidden_dim ${header[1]}, n_layers ${header[2]}, n_heads ${header[3]}, n_kv_heads ${header[4]}, vocab_size ${header[5]}, seq_len ${header[6]})`);
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(path, `not a valid llama2.c checkpoint: ${e.message}`);
    throw e;
  }
}

/** True when the first bytes look like a llama2.c file (versioned magic, or a plausible legacy header). */
export function looksLikeLlama2c(buf: Buffer): boolean {
  if (buf.length >= 8 && buf.readUInt32LE(0) === LLAMA2C_MAGIC) return true;
  if (buf.length < LEGACY_HEADER_BYTES) return false;
  const h = Array.from({ length: 7 }, (_, i) => buf.readInt32LE(4 * i));
  return h.every((v, i) => (i === 5 ? v !== 0 && Math.abs(v) < 1e7 : v > 0 && v < 1e7));
}

/** Parses a whole llama2.c file held in `buf`. */
export function parseLlama2c(path: string, buf: Buffer): Llama2cModel {
  let version: Llama2cVersion;
  let header: number[];
  let tied: boolean;
  let groupSize = 0;
  if (buf.length >= 8 && buf.readUInt32LE(0) === LLAMA2C_MAGIC) {
    const v = buf.readInt32LE(4);
    if (v !== 1 && v !== 2) throw new FormatError(path, `llama2.c magic 'ak42' with version ${v}; expected version 1 (fp32) or 2 (int8 Q8_0)`);
    version = v;
    if (buf.length < VERSIONED_HEADER_BYTES) throw new FormatError(path, `truncated llama2.c v${v} checkpoint: ${buf.length} bytes, expected at least the ${VERSIONED_HEADER_BYTES}-byte header`);
    header = Array.from({ length: 7 }, (_, i) => buf.readInt32LE(8 + 4 * i));
    tied = buf.readUInt8(36) !== 0;
    if (v === 2) {
      groupSize = buf.readInt32LE(37);
      if (groupSize <= 0) throw new FormatError(path, `llama2.c v2 group size ${groupSize}; expected a positive integer`);
    }
  } else {
    if (!looksLikeLlama2c(buf)) {
      throw new FormatError(path, `not a llama2.c checkpoint: expected the magic 0x616b3432 ('ak42') or a legacy header of 7 positive int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)`);
    }
    version = 'legacy';
    header = Array.from({ length: 7 }, (_, i) => buf.readInt32LE(4 * i));
    tied = header[5] > 0; // llama2.c: a negative vocab_size means an untied classifier follows
    header[5] = Math.abs(header[5]);
  }
  const config = checkedConfig(path, header, tied);
  const body = buf.length - (version === 'legacy' ? LEGACY_HEADER_BYTES : VERSIONED_HEADER_BYTES);
  checkParamsFit(path, config, Math.floor(version === 2 ? body : body / 4), `its ${body} bytes after the header`);
  const layout = buildLayout(config);
  const { f32, q8 } = fileOrder(config, version);
  for (const n of q8) {
    const size = layout.byName.get(n)!.size;
    if (size % groupSize !== 0) throw new FormatError(path, `tensor ${n} has ${size} elements, not a multiple of the v2 group size ${groupSize}`);
  }
  const want = expectedBytes(config, layout, version, groupSize);
  if (buf.length !== want) {
    throw new FormatError(path, `${buf.length < want ? 'truncated' : 'oversized'} llama2.c ${version === 'legacy' ? 'legacy' : `v${version}`} checkpoint: the header implies ${want} bytes, the file has ${buf.length}`);
  }
  const params = new Float32Array(layout.total);
  let at = version === 'legacy' ? LEGACY_HEADER_BYTES : VERSIONED_HEADER_BYTES;
  for (const n of f32) {
    if (n === '@rope') { at += 4 * ropeFloats(config); continue; }
    const dst = paramView(layout, params, n);
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf.subarray(at, at + dst.byteLength)); // little-endian host
    at += dst.byteLength;
  }
  for (const n of q8) {
    const dst = paramView(layout, params, n);
    const q = new Int8Array(buf.buffer, buf.byteOffset + at, dst.length);
    const scalesAt = at + dst.length;
    for (let g = 0; g < dst.length / groupSize; g++) {
      const s = buf.readFloatLE(scalesAt + 4 * g);
      for (let i = g * groupSize; i < (g + 1) * groupSize; i++) dst[i] = q[i] * s;
    }
    at = scalesAt + 4 * (dst.length / groupSize);
  }
  return { config, params, version, ...(version === 2 ? { groupSize } : {}) };
}

export function readLlama2c(path: string): Llama2cModel {
  return parseLlama2c(path, readFileSync(path));
}

/** torch.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Q8_0 as llama2.c's export.py: per group scale = max|w| / 127, q = round(w / scale) (half to even). */
function quantizeQ80(w: Float32Array, groupSize: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(w.length);
  const scales = new Float32Array(w.length / groupSize);
  for (let g = 0; g < scales.length; g++) {
    let max = 0;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) max = Math.max(max, Math.abs(w[i]));
    const s = Math.fround(max / 127);
    scales[g] = s;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) q[i] = s === 0 ? 0 : roundHalfEven(Math.fround(w[i] / s));
  }
  return { q, scales };
}

/** Why llama2.c cannot hold a model of this config, or null when it can (checked before any writing). */
export function llama2cProblem(config: ModelConfig): string | null {
  if (config.family !== 'llama' || config.qkvBias) {
    return `llama2.c holds only Llama models without q/k/v biases; got family ${config.family}, qkvBias ${config.qkvBias}`;
  }
  if (config.normEps !== 1e-5 || config.ropeTheta !== 10000) {
    return `llama2.c fixes normEps 1e-5 and ropeTheta 10000; got ${config.normEps} and ${config.ropeTheta}`;
  }
  return null;
}

/** Params with a half-split model's q/k rows reordered to llama2.c's interleaved rotary pairs. */
function interleavedParams(config: ModelConfig, params: Float32Array): Float32Array {
  if (config.ropeMode === 'interleaved') return params;
  const layout = buildLayout(config);
  const out = params.slice();
  const hs = headSize(config);
  for (let l = 0; l < config.nLayers; l++) {
    for (const [n, heads] of [[`layers.${l}.wq`, config.nHeads], [`layers.${l}.wk`, config.nKvHeads]] as const) {
      paramView(layout, out, n).set(halfToInterleavedRows(paramView(layout, params, n), heads, hs, config.dim));
    }
  }
  return out;
}

/** Serializes a Llama model with llama2.c conventions into one of the three formats (bytes); a
 *  half-split (Hugging Face) model has its q/k rows permuted to interleaved pairs first. */
export function encodeLlama2c(config: ModelConfig, params: Float32Array, version: Llama2cVersion, groupSize = 64): Buffer {
  const problem = llama2cProblem(config);
  if (problem) throw new ConfigError(problem);
  const layout = buildLayout(config);
  if (params.length !== layout.total) throw new ConfigError(`params has ${params.length} values, the config's layout needs ${layout.total}`);
  params = interleavedParams(config, params);
  // export.py backs the group size off until it divides dim
  let gs = groupSize;
  if (version === 2) while (config.dim % gs !== 0) gs = Math.floor(gs / 2);
  const parts: Buffer[] = [];
  const c = config;
  const ints = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.maxSeqLen];
  if (version === 'legacy') {
    const h = Buffer.alloc(LEGACY_HEADER_BYTES);
    ints.forEach((v, i) => h.writeInt32LE(i === 5 && !c.tiedEmbeddings ? -v : v, 4 * i));
    parts.push(h);
  } else {
    const h = Buffer.alloc(VERSIONED_HEADER_BYTES);
    h.writeUInt32LE(LLAMA2C_MAGIC, 0);
    h.writeInt32LE(version, 4);
    ints.forEach((v, i) => h.writeInt32LE(v, 8 + 4 * i));
    h.writeUInt8(c.tiedEmbeddings ? 1 : 0, 36);
    if (version === 2) h.writeInt32LE(gs, 37);
    parts.push(h);
  }
  const f32Bytes = (a: Float32Array): Buffer => Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); // little-endian host
  const { f32, q8 } = fileOrder(c, version);
  for (const n of f32) {
    if (n !== '@rope') { parts.push(Buffer.from(f32Bytes(paramView(layout, params, n)))); continue; }
    const half = headSize(c) / 2;
    const re = new Float32Array(c.maxSeqLen * half), im = new Float32Array(c.maxSeqLen * half);
    for (let t = 0; t < c.maxSeqLen; t++) {
      for (let i = 0; i < half; i++) {
        // float32 throughout, as llama2.c's export.py (torch) computes the tables
        const f = Math.fround(1 / Math.fround(Math.pow(c.ropeTheta, Math.fround((2 * i) / headSize(c)))));
        const angle = Math.fround(t * f);
        re[t * half + i] = Math.cos(angle);
        im[t * half + i] = Math.sin(angle);
      }
    }
    parts.push(f32Bytes(re), f32Bytes(im));
  }
  for (const n of q8) {
    const w = paramView(layout, params, n);
    if (w.length % gs !== 0) throw new ConfigError(`tensor ${n} has ${w.length} elements, not a multiple of the group size ${gs}`);
    const { q, scales } = quantizeQ80(w, gs);
    parts.push(Buffer.from(q.buffer), f32Bytes(scales));
  }
  return Buffer.concat(parts);
}

/** Writes a llama2.c file atomically (tmp file, then rename). */
export function writeLlama2c(path: string, config: ModelConfig, params: Float32Array, version: Llama2cVersion = 'legacy', groupSize = 64): void {
  writeFileAtomic(path, encodeLlama2c(config, params, version, groupSize));
}
