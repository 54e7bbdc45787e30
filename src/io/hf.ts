// Hugging Face model folders: config.json (Llama, Mistral, Qwen2, GPT-2) plus model.safetensors
// or a sharded model.safetensors.index.json, to and from our config and parameter layout.
// Name maps live in hf-names.ts; tokenizers are read by src/data/, not here.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelConfig, ConfigError, headSize, validateConfig } from '../model/config.js';
import { buildLayout, paramView } from '../model/layout.js';
import { writeFileAtomic } from './atomic-write.js';
import { FormatError } from './errors.js';
import { checkParamsFit } from './params-fit.js';
import { IGNORED_HF_TENSORS, hfNameRules, hfToOurs, interleavedToHalfRows, oursToHf } from './hf-names.js';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors.js';

export const SUPPORTED_HF_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'GPT2LMHeadModel'] as const;

type Json = Record<string, unknown>;

/** Reads a required integer field of config.json, naming it when absent or wrong. */
function int(file: string, j: Json, key: string, fallback?: number): number {
  const v = j[key] ?? fallback;
  if (!Number.isInteger(v) || (v as number) <= 0) throw new FormatError(file, `field '${key}' must be a positive integer, got ${JSON.stringify(j[key])}`);
  return v as number;
}
function num(file: string, j: Json, key: string, fallback: number): number {
  const v = j[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(file, `field '${key}' must be a number, got ${JSON.stringify(j[key])}`);
  return v;
}

/** The one architecture config.json names; throws listing the supported ones otherwise. */
export function hfArchitecture(file: string, j: Json): string {
  const archs = j.architectures;
  const arch = Array.isArray(archs) && archs.length === 1 ? String(archs[0]) : undefined;
  if (!arch || !(SUPPORTED_HF_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new FormatError(file, `unsupported architecture ${JSON.stringify(archs)}; expected one of ${SUPPORTED_HF_ARCHITECTURES.join(', ')}`);
  }
  return arch;
}

/** config.json -> ModelConfig. `hasLmHead`: whether the weights carry lm_head.weight. */
export function parseHfConfig(file: string, j: Json, hasLmHead: boolean): ModelConfig {
  const arch = hfArchitecture(file, j);
  let c: ModelConfig;
  if (arch === 'GPT2LMHeadModel') {
    const act = j.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new FormatError(file, `activation_function '${String(act)}' is not supported; expected gelu_new (the tanh approximation)`);
    const dim = int(file, j, 'n_embd');
    const tieFlag = j.tie_word_embeddings ?? true; // GPT2Config ties by default
    c = {
      family: 'gpt2', dim, nLayers: int(file, j, 'n_layer'), nHeads: int(file, j, 'n_head'), nKvHeads: int(file, j, 'n_head'),
      hiddenDim: j.n_inner == null ? 4 * dim : int(file, j, 'n_inner'), vocabSize: int(file, j, 'vocab_size'),
      maxSeqLen: int(file, j, 'n_positions'), normEps: num(file, j, 'layer_norm_epsilon', 1e-5),
      ropeTheta: 10000, ropeMode: 'half', tiedEmbeddings: tieFlag === true || !hasLmHead, qkvBias: true,
    };
  } else {
    const act = j.hidden_act ?? 'silu';
    if (act !== 'silu') throw new FormatError(file, `hidden_act '${String(act)}' is not supported; expected silu`);
    if (j.rope_scaling != null) throw new FormatError(file, `rope_scaling ${JSON.stringify(j.rope_scaling)} is not supported; expected null`);
    if (j.attention_bias === true || j.mlp_bias === true) throw new FormatError(file, `attention_bias/mlp_bias true is not supported (only Qwen2-style q/k/v biases are)`);
    const dim = int(file, j, 'hidden_size'), nHeads = int(file, j, 'num_attention_heads');
    if (j.head_dim != null && j.head_dim !== dim / nHeads) throw new FormatError(file, `head_dim ${String(j.head_dim)} differs from hidden_size / num_attention_heads = ${dim / nHeads}; expected them equal`);
    const tieFlag = j.tie_word_embeddings ?? false; // LlamaConfig, MistralConfig and Qwen2Config default to untied
    // No sliding-window attention here: inside the window it equals full causal attention, so a
    // model that uses one (Mistral; Qwen2 with use_sliding_window) gets its context capped at it.
    let maxSeqLen = int(file, j, 'max_position_embeddings');
    const slides = arch === 'MistralForCausalLM' || (arch === 'Qwen2ForCausalLM' && j.use_sliding_window === true);
    if (slides && j.sliding_window != null) maxSeqLen = Math.min(maxSeqLen, int(file, j, 'sliding_window'));
    c = {
      family: 'llama', dim, nLayers: int(file, j, 'num_hidden_layers'), nHeads, nKvHeads: int(file, j, 'num_key_value_heads', nHeads),
      hiddenDim: int(file, j, 'intermediate_size'), vocabSize: int(file, j, 'vocab_size'),
      maxSeqLen, normEps: num(file, j, 'rms_norm_eps', 1e-6),
      ropeTheta: num(file, j, 'rope_theta', 10000), ropeMode: 'half', tiedEmbeddings: tieFlag === true || !hasLmHead,
      qkvBias: arch === 'Qwen2ForCausalLM',
    };
  }
  try {
    return validateConfig(c, 'config.json');
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(file, e.message);
    throw e;
  }
}

/** name -> shard file, from model.safetensors or model.safetensors.index.json. */
function weightFiles(dir: string): Map<string, SafetensorsFile> {
  const single = join(dir, 'model.safetensors'), index = join(dir, 'model.safetensors.index.json');
  const byName = new Map<string, SafetensorsFile>();
  if (existsSync(index)) {
    let map: unknown;
    try {
      map = (JSON.parse(readFileSync(index, 'utf8')) as Json).weight_map;
    } catch (e) {
      throw new FormatError(index, `is not valid JSON (${(e as Error).message})`);
    }
    if (typeof map !== 'object' || map === null) throw new FormatError(index, `expected a 'weight_map' object {tensor name: shard file}`);
    const shards = new Map<string, SafetensorsFile>();
    for (const [name, shard] of Object.entries(map as Record<string, string>)) {
      const path = join(dir, shard);
      if (!shards.has(shard)) {
        if (!existsSync(path)) throw new FormatError(index, `names shard '${shard}' for tensor '${name}', but ${path} does not exist`);
        shards.set(shard, readSafetensors(path));
      }
      const f = shards.get(shard)!;
      if (!f.entries.has(name)) throw new FormatError(path, `has no tensor '${name}', which ${index} places there`);
      byName.set(name, f);
    }
    return byName;
  }
  if (existsSync(single)) {
    const f = readSafetensors(single);
    for (const name of f.entries.keys()) byName.set(name, f);
    return byName;
  }
  const other = ['pytorch_model.bin', 'model.bin'].find((n) => existsSync(join(dir, n)));
  throw new FormatError(dir, `no model.safetensors or model.safetensors.index.json${other ? ` (found ${other}: convert it to safetensors first)` : ''}`);
}

/**
 * Stored tensor names by the name a reader asks for: every stored name, plus the aliases that
 * safetensors' __metadata__ records for tensors it wrote once ({"model.embed_tokens.weight":
 * "lm_head.weight"}, as save_pretrained does for a tied matrix).
 */
function aliasedNames(files: Map<string, SafetensorsFile>): Map<string, string> {
  const names = new Map<string, string>();
  for (const n of files.keys()) names.set(n, n);
  for (const f of new Set(files.values())) {
    for (const [alias, stored] of Object.entries(f.metadata)) {
      if (typeof stored === 'string' && files.has(stored) && !names.has(alias)) names.set(alias, stored);
    }
  }
  return names;
}

/** A JSON file of the folder, or null when absent; a FormatError naming it when it is not an object. */
function optionalJson(path: string): Json | null {
  if (!existsSync(path)) return null;
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FormatError(path, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new FormatError(path, 'expected a JSON object');
  return j as Json;
}

/**
 * The ids generation stops at, as transformers' generate() takes them: generation_config.json's
 * eos_token_id (an id or a list), else config.json's; [] when neither names one.
 */
export function hfEosIds(dir: string, config: Json, vocabSize: number): number[] {
  const genPath = join(dir, 'generation_config.json');
  const gen = optionalJson(genPath);
  const [file, v] = gen?.eos_token_id != null ? [genPath, gen.eos_token_id] : [join(dir, 'config.json'), config.eos_token_id];
  if (v == null) return [];
  const ids = Array.isArray(v) ? v : [v];
  for (const id of ids) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= vocabSize) throw new FormatError(file, `eos_token_id ${JSON.stringify(v)} must be an id (or a list of ids) in [0, ${vocabSize})`);
  }
  return ids as number[];
}

/** Loads a Hugging Face folder into our layout, with the ids generation stops at. */
export function readHfFolder(dir: string): { config: ModelConfig; params: Float32Array; eosIds: number[] } {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new FormatError(dir, 'not a Hugging Face model folder: expected a config.json');
  const j = optionalJson(cfgPath) as Json;
  const arch = hfArchitecture(cfgPath, j);
  const files = weightFiles(dir);
  const stored = aliasedNames(files);
  const isGpt2 = arch === 'GPT2LMHeadModel';
  // GPT-2 names may carry a 'transformer.' prefix (GPT2LMHeadModel.save_pretrained) or not (the hub's gpt2)
  const prefix = isGpt2 && [...files.keys()].some((n) => n.startsWith('transformer.')) ? 'transformer.' : '';
  const hfName = (n: string): string => (n === 'lm_head.weight' ? n : prefix + n);
  const config = parseHfConfig(cfgPath, j, stored.has('lm_head.weight'));
  const embedName = hfName(isGpt2 ? 'wte.weight' : 'model.embed_tokens.weight');
  // A tied matrix written once as the head only (no alias recorded) is the embedding too.
  if (config.tiedEmbeddings && !stored.has(embedName) && stored.has('lm_head.weight')) stored.set(embedName, stored.get('lm_head.weight')!);
  // Stored tensors (a tied matrix counted twice when it is stored once: its alias stands for it).
  const storedValues = [...stored.entries()].reduce((n, [, at]) => n + files.get(at)!.entries.get(at)!.shape.reduce((a, b) => a * b, 1), 0);
  checkParamsFit(dir, config, storedValues, 'its safetensors');
  const layout = buildLayout(config);
  const params = new Float32Array(layout.total);
  const used = new Set<string>();
  for (const rule of hfNameRules(config)) {
    const name = hfName(rule.hf);
    const at = stored.get(name);
    if (!at) throw new FormatError(dir, `missing tensor '${name}' (expected shape [${rule.hfShape.join(', ')}] from config.json)`);
    const f = files.get(at)!;
    const e = f.entries.get(at)!;
    const what = at === name ? `tensor '${name}'` : `tensor '${at}' (stored for '${name}')`;
    if (e.shape.length !== rule.hfShape.length || e.shape.some((d, i) => d !== rule.hfShape[i])) {
      throw new FormatError(f.path, `${what} has shape [${e.shape.join(', ')}], but config.json implies [${rule.hfShape.join(', ')}]`);
    }
    hfToOurs(rule, f.readF32(at), rule.ours.map((n) => paramView(layout, params, n)));
    used.add(at);
  }
  if (config.tiedEmbeddings) used.add('lm_head.weight'); // tied: HF ignores a stored head too
  const extra = [...files.keys()].filter((n) => !used.has(n) && !IGNORED_HF_TENSORS.some((r) => r.test(n)));
  if (extra.length) throw new FormatError(dir, `unexpected tensor(s) ${extra.slice(0, 5).map((n) => `'${n}'`).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''} for ${arch} with this config.json`);
  return { config, params, eosIds: hfEosIds(dir, j, config.vocabSize) };
}

/** config.json's torch_dtype for each safetensors dtype written. */
const HF_TORCH_DTYPE = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** config.json fields for a ModelConfig (the inverse of parseHfConfig). */
export function hfConfigJson(c: ModelConfig): Json {
  if (c.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: c.dim, n_layer: c.nLayers, n_head: c.nHeads,
      n_inner: c.hiddenDim, vocab_size: c.vocabSize, n_positions: c.maxSeqLen, layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new', tie_word_embeddings: c.tiedEmbeddings, torch_dtype: 'float32',
    };
  }
  return {
    architectures: [c.qkvBias ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'], model_type: c.qkvBias ? 'qwen2' : 'llama',
    hidden_size: c.dim, intermediate_size: c.hiddenDim, num_hidden_layers: c.nLayers, num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads, vocab_size: c.vocabSize, max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps, rope_theta: c.ropeTheta, hidden_act: 'silu', tie_word_embeddings: c.tiedEmbeddings,
    torch_dtype: 'float32',
  };
}

/**
 * Writes our params as a HF folder (config.json + model.safetensors, f32 or rounded to f16 / bf16). A Llama model with
 * interleaved rotary pairs (llama2.c) gets its q/k rows permuted to HF's half split, so the
 * folder loads back with ropeMode 'half' and computes the same function.
 */
export function writeHfFolder(dir: string, config: ModelConfig, params: Float32Array, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): void {
  const layout = buildLayout(config);
  if (params.length !== layout.total) throw new ConfigError(`params has ${params.length} values, the config's layout needs ${layout.total}`);
  mkdirSync(dir, { recursive: true });
  const permute = config.family === 'llama' && config.ropeMode === 'interleaved';
  const hs = headSize(config);
  const view = (n: string): Float32Array => {
    const v = paramView(layout, params, n);
    if (!permute) return v;
    const kind = n.slice(n.lastIndexOf('.') + 1);
    if (kind === 'wq' || kind === 'bq') return interleavedToHalfRows(v, config.nHeads, hs, kind === 'wq' ? config.dim : 1);
    if (kind === 'wk' || kind === 'bk') return interleavedToHalfRows(v, config.nKvHeads, hs, kind === 'wk' ? config.dim : 1);
    return v;
  };
  const prefix = config.family === 'gpt2' ? 'transformer.' : '';
  const tensors = hfNameRules(config).map((rule) => ({
    name: rule.hf === 'lm_head.weight' ? rule.hf : prefix + rule.hf,
    shape: rule.hfShape,
    data: oursToHf(rule, rule.ours.map(view)),
  }));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' }, dtype);
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ ...hfConfigJson(config), torch_dtype: HF_TORCH_DTYPE[dtype] }, null, 2) + '\n');
}
