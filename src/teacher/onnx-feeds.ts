// How a causal-LM ONNX export is fed, read from its input and output metadata alone: the plan says
// what each input gets (the ids; an attention mask of ones; positions 0..T-1; an empty KV cache of
// [B, n_kv_heads, 0, head_dim], dims from the metadata or config.json; use_cache_branch false for
// merged decoders) and where the logits are; feeds() fills it for B windows of T ids. Pure data:
// it never loads onnxruntime (onnx-teacher.ts turns the feeds into its tensors and runs them).
import { TeacherError } from './teacher.js';

/** An input or output as onnxruntime's metadata describes it: `type` null for a non-tensor. */
export interface OnnxValueInfo {
  name: string;
  type: string | null;
  /** Numbers for fixed dims, strings for symbolic ones; empty when the model leaves it unknown. */
  shape: readonly (number | string)[];
}

export type FeedRole = 'ids' | 'mask' | 'positions' | 'past' | 'cacheBranch';

export interface PlannedInput {
  name: string;
  role: FeedRole;
  /** The tensor type fed: an integer type for ids, mask and positions, a float type for the cache. */
  type: string;
  /** For 'past': [n_kv_heads, head_dim]. */
  kvDims?: [number, number];
}

export interface FeedPlan {
  inputs: PlannedInput[];
  /** The logits' last dim when the metadata fixes it; null: known only after a run. */
  vocabSize: number | null;
}

/** A tensor to feed, before onnxruntime wraps it. */
export interface Feed {
  type: string;
  data: BigInt64Array | Int32Array | Float32Array | Uint16Array | Uint8Array;
  dims: number[];
}

const INT_TYPES = ['int64', 'int32'];
const CACHE_TYPES = ['float32', 'float16'];
const PAST = /^past_key_values\.\d+\.(key|value)$/;
const ROLES: Record<string, FeedRole> = { input_ids: 'ids', attention_mask: 'mask', position_ids: 'positions', use_cache_branch: 'cacheBranch' };

/**
 * The feeding plan of a model with `inputs` and `outputs`, `config` the config.json beside it (for
 * cache dims the metadata leaves symbolic). Throws TeacherError naming `file` and the input or
 * output when one cannot be fed or the logits are missing.
 */
export function planFeeds(file: string, inputs: readonly OnnxValueInfo[], outputs: readonly OnnxValueInfo[],
  config: { path: string; config: Record<string, unknown> } | null): FeedPlan {
  const logits = outputs.find((o) => o.name === 'logits');
  if (!logits) throw new TeacherError(`${file}: no output named 'logits' (outputs: ${outputs.map((o) => o.name).join(', ')}); export the causal-LM head's logits (B,T,V) as 'logits'`);
  if (logits.type !== 'float32') throw new TeacherError(`${file}: output 'logits' is ${logits.type ?? 'not a tensor'}, expected float32 (export the model in fp32)`);
  if (logits.shape.length !== 0 && logits.shape.length !== 3) throw new TeacherError(`${file}: output 'logits' has shape [${logits.shape.join(', ')}], expected (batch, sequence, vocab)`);
  const last = logits.shape[2];
  const vocabSize = typeof last === 'number' && last > 0 ? last : null;
  const planned = inputs.map((i) => planInput(file, i, config));
  if (!planned.some((p) => p.role === 'ids')) throw new TeacherError(`${file}: no input named 'input_ids' (inputs: ${inputs.map((i) => i.name).join(', ')}); expected a causal LM taking token ids`);
  return { inputs: planned, vocabSize };
}

function planInput(file: string, i: OnnxValueInfo, config: { path: string; config: Record<string, unknown> } | null): PlannedInput {
  const role = PAST.test(i.name) ? 'past' : ROLES[i.name];
  if (!role) {
    throw new TeacherError(`${file}: cannot feed input '${i.name}' (${i.type ?? 'not a tensor'} [${i.shape.join(', ')}]); the onnx teacher feeds input_ids, attention_mask, position_ids, past_key_values.{i}.key/value and use_cache_branch`);
  }
  const want = role === 'past' ? CACHE_TYPES : role === 'cacheBranch' ? ['bool'] : INT_TYPES;
  if (i.type === null || !want.includes(i.type)) throw new TeacherError(`${file}: input '${i.name}' is ${i.type ?? 'not a tensor'}, expected ${want.join(' or ')}`);
  if (role !== 'past') return { name: i.name, role, type: i.type };
  if (i.shape.length !== 0 && i.shape.length !== 4) throw new TeacherError(`${file}: input '${i.name}' has shape [${i.shape.join(', ')}], expected (batch, kv heads, past length, head dim)`);
  return { name: i.name, role, type: i.type, kvDims: [cacheDim(file, i, 1, config), cacheDim(file, i, 3, config)] };
}

/** The cache's kv-head count (axis 1) or head dim (axis 3): fixed in the metadata, else from config.json. */
function cacheDim(file: string, i: OnnxValueInfo, axis: 1 | 3, config: { path: string; config: Record<string, unknown> } | null): number {
  const d = i.shape[axis];
  if (typeof d === 'number' && d > 0) return d;
  const what = axis === 1 ? 'kv heads' : 'head dim';
  if (!config) throw new TeacherError(`${file}: input '${i.name}' leaves its ${what} (axis ${axis}) symbolic${d === undefined ? '' : ` ('${d}')`} and there is no config.json beside the model to read it from`);
  const n = axis === 1 ? kvHeads(config.config) : headDim(config.config);
  if (n === null) {
    const keys = axis === 1 ? 'num_key_value_heads, num_attention_heads or n_head' : 'head_dim, or hidden_size (n_embd) and num_attention_heads (n_head)';
    throw new TeacherError(`${config.path}: needs ${keys} (positive integers) for the ${what} of input '${i.name}' of ${file}`);
  }
  return n;
}

function intKey(c: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = c[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return null;
}

function kvHeads(c: Record<string, unknown>): number | null {
  return intKey(c, 'num_key_value_heads', 'num_attention_heads', 'n_head');
}

function headDim(c: Record<string, unknown>): number | null {
  const explicit = intKey(c, 'head_dim');
  if (explicit !== null) return explicit;
  const hidden = intKey(c, 'hidden_size', 'n_embd'), heads = intKey(c, 'num_attention_heads', 'n_head');
  return hidden !== null && heads !== null && hidden % heads === 0 ? hidden / heads : null;
}

/** The context length config.json names (max_position_embeddings, n_positions, n_ctx), or null. */
export function configContext(c: Record<string, unknown>): number | null {
  return intKey(c, 'max_position_embeddings', 'n_positions', 'n_ctx');
}

/** The feeds of `plan` for B windows of T ids (row-major): each window from position 0, unpadded. */
export function feeds(plan: FeedPlan, tokens: Int32Array, B: number, T: number): Record<string, Feed> {
  const out: Record<string, Feed> = {};
  const N = B * T;
  for (const p of plan.inputs) {
    switch (p.role) {
      case 'ids': out[p.name] = intFeed(p.type, N, (i) => tokens[i], [B, T]); break;
      case 'mask': out[p.name] = intFeed(p.type, N, () => 1, [B, T]); break;
      case 'positions': out[p.name] = intFeed(p.type, N, (i) => i % T, [B, T]); break;
      case 'past': out[p.name] = { type: p.type, data: p.type === 'float32' ? new Float32Array(0) : new Uint16Array(0), dims: [B, p.kvDims![0], 0, p.kvDims![1]] }; break;
      case 'cacheBranch': out[p.name] = { type: 'bool', data: new Uint8Array(1), dims: [1] }; break;
      default: {
        const never: never = p.role;
        throw new TeacherError(`unknown feed role ${String(never)}`);
      }
    }
  }
  return out;
}

function intFeed(type: string, n: number, at: (i: number) => number, dims: number[]): Feed {
  if (type === 'int64') {
    const data = new BigInt64Array(n);
    for (let i = 0; i < n; i++) data[i] = BigInt(at(i));
    return { type, data, dims };
  }
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = at(i);
  return { type, data, dims };
}
