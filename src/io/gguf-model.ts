// A GGUF file as a model we run: maps `general.architecture` and its `{arch}.*` metadata onto a
// ModelConfig, and the tensors (dequantized to f32) onto our parameter layout via gguf-names.ts.
// It does not read the tokenizer metadata (gguf-tokenizer-meta.ts) or write files (gguf-write.ts).

import { type ModelConfig, ConfigError, validateConfig } from '../model/config.js';
import { buildLayout, paramView } from '../model/layout.js';
import { FormatError } from './errors.js';
import { checkParamsFit } from './params-fit.js';
import { type GgufFile, ggufArray, ggufFloat, ggufInt, ggufString, readGguf } from './gguf.js';
import { GgufType } from './gguf-format.js';
import { GGUF_ARCHS, ggufNameRules, ggufToOurs } from './gguf-names.js';

export interface GgufModel {
  config: ModelConfig;
  params: Float32Array;
  /** general.architecture as the file names it. */
  arch: string;
  file: GgufFile;
}

/** The file's architecture; FormatError naming it and listing the supported ones otherwise. */
export function ggufArch(f: GgufFile): string {
  const arch = ggufString(f, 'general.architecture');
  if (!(arch in GGUF_ARCHS)) {
    throw new FormatError(f.path, `metadata 'general.architecture' is '${arch}', which distill does not run; expected one of ${Object.keys(GGUF_ARCHS).join(', ')}`);
  }
  return arch;
}

/** `{arch}.*` metadata and the tensor shapes -> ModelConfig. */
export function ggufConfig(f: GgufFile): ModelConfig {
  const arch = ggufArch(f);
  const a = GGUF_ARCHS[arch];
  const k = (key: string): string => `${arch}.${key}`;
  const embd = f.tensorByName.get('token_embd.weight');
  if (!embd || embd.dims.length !== 2) throw new FormatError(f.path, `tensor 'token_embd.weight' is ${embd ? `of dims [${embd.dims.join(', ')}]` : 'missing'}; expected a 2-D [embedding_length, vocab] tensor`);
  const dim = ggufInt(f, k('embedding_length'));
  const nHeads = ggufInt(f, k('attention.head_count'));
  const vocabSize = embd.dims[1];
  const tokens = ggufArray(f, 'tokenizer.ggml.tokens', [GgufType.STRING]);
  if (tokens && tokens.length > vocabSize) {
    throw new FormatError(f.path, `metadata 'tokenizer.ggml.tokens' has ${tokens.length} tokens but 'token_embd.weight' has ${vocabSize} rows; expected at most as many tokens as rows`);
  }
  for (const [key, want] of [['rope.dimension_count', dim / nHeads], ['attention.key_length', dim / nHeads], ['attention.value_length', dim / nHeads]] as const) {
    const v = f.metadata.has(k(key)) ? ggufInt(f, k(key)) : want;
    if (v !== want) throw new FormatError(f.path, `metadata '${k(key)}' is ${v}; distill runs only models where it equals embedding_length / head_count = ${want}`);
  }
  const scaling = f.metadata.has(k('rope.scaling.type')) ? ggufString(f, k('rope.scaling.type')) : 'none';
  if (scaling !== 'none') throw new FormatError(f.path, `metadata '${k('rope.scaling.type')}' is '${scaling}'; rope scaling is not supported (expected 'none' or absent)`);
  let maxSeqLen = ggufInt(f, k('context_length'));
  if (a.family === 'gpt2') {
    const pos = f.tensorByName.get('position_embd.weight');
    if (pos && pos.dims.length === 2) maxSeqLen = pos.dims[1]; // the table's rows are the real limit
  }
  const c: ModelConfig = {
    family: a.family, dim, nLayers: ggufInt(f, k('block_count')), nHeads,
    nKvHeads: a.family === 'gpt2' ? nHeads : ggufInt(f, k('attention.head_count_kv'), nHeads),
    hiddenDim: ggufInt(f, k('feed_forward_length')), vocabSize, maxSeqLen,
    normEps: ggufFloat(f, k(a.epsKey), 1e-5), // llama.cpp's own fallback is 1e-5 too
    ropeTheta: ggufFloat(f, k('rope.freq_base'), 10000), // llama.cpp's default base
    ropeMode: a.ropeMode,
    tiedEmbeddings: !f.tensorByName.has('output.weight'),
    qkvBias: a.qkvBias || f.tensorByName.has('blk.0.attn_q.bias'),
  };
  try {
    validateConfig(c, `GGUF ${arch} metadata`);
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(f.path, e.message);
    throw e;
  }
  return c;
}

/** Parses an already-read GGUF file into our config and layout. */
export function ggufToModel(f: GgufFile): GgufModel {
  const config = ggufConfig(f);
  // A tied head may be stored once more as output.weight: every tensor counts toward what the file holds.
  checkParamsFit(f.path, config, f.tensors.reduce((n, t) => n + t.nElements, 0), 'its tensors');
  const layout = buildLayout(config);
  const params = new Float32Array(layout.total);
  const used = new Set<string>();
  for (const rule of ggufNameRules(config)) {
    const t = f.tensorByName.get(rule.gguf);
    if (!t) throw new FormatError(f.path, `missing tensor '${rule.gguf}' (expected dims [${rule.dims.join(', ')}] from the ${ggufString(f, 'general.architecture')} metadata)`);
    if (t.dims.length !== rule.dims.length || t.dims.some((d, i) => d !== rule.dims[i])) {
      throw new FormatError(f.path, `tensor '${rule.gguf}' has dims [${t.dims.join(', ')}], but the metadata implies [${rule.dims.join(', ')}]`);
    }
    ggufToOurs(rule, f.readF32(rule.gguf), rule.ours.map((n) => paramView(layout, params, n)));
    used.add(rule.gguf);
  }
  const extra = f.tensors.map((t) => t.name).filter((n) => !used.has(n));
  if (extra.length) {
    throw new FormatError(f.path, `unexpected tensor(s) ${extra.slice(0, 5).map((n) => `'${n}'`).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''} for a ${ggufString(f, 'general.architecture')} model with this metadata`);
  }
  return { config, params, arch: ggufString(f, 'general.architecture'), file: f };
}

export function readGgufModel(path: string): GgufModel {
  return ggufToModel(readGguf(path));
}
