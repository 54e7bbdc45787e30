// The `tokenizer.ggml.*` metadata of a GGUF file as one typed, checked record, and back to
// metadata for the writer. It holds no tokenizer algorithm: src/data/gguf-tokenizer.ts builds a
// Tokenizer from this record, and the data room converts our tokenizers into it for writing.

import { FormatError } from './errors.js';
import { type GgufHeader, type GgufKv, GGUF_INT_TYPES, ggufArray, ggufBool, ggufString } from './gguf.js';
import { GgufType } from './gguf-format.js';

/** llama.cpp's token types (llama_token_type; the same numbers as SentencePiece's piece types). */
export const GGUF_TOKEN_TYPES = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface GgufTokenizerMeta {
  /** tokenizer.ggml.model: 'llama' (SentencePiece-style scored BPE) or 'gpt2' (byte-level BPE). */
  model: string;
  /** tokenizer.ggml.pre: the BPE pre-tokenizer ('gpt-2', 'default', ...); absent for 'llama'. */
  pre?: string;
  tokens: string[];
  /** One per token ('llama'); absent means all 0. */
  scores?: number[];
  /** One GGUF_TOKEN_TYPES value per token; absent means NORMAL. */
  tokenTypes?: number[];
  /** 'gpt2': "left right" merge rules in rank order. */
  merges?: string[];
  /** Special ids; null when the file has none (or names an id outside the vocabulary, as 0xFFFFFFFF does). */
  bosId: number | null;
  eosId: number | null;
  unkId: number | null;
  padId: number | null;
  addBos?: boolean;
  addEos?: boolean;
  /** tokenizer.ggml.add_space_prefix ('llama': the SentencePiece dummy prefix; llama.cpp defaults to true). */
  addSpacePrefix?: boolean;
  /** tokenizer.chat_template: the Jinja chat template, when the source has one (carried, not rendered). */
  chatTemplate?: string;
}

const ID_KEYS = { bosId: 'bos_token_id', eosId: 'eos_token_id', unkId: 'unknown_token_id', padId: 'padding_token_id' } as const;

/** The tokenizer metadata of `f`; FormatError naming the key when absent or inconsistent. */
export function readGgufTokenizerMeta(f: GgufHeader): GgufTokenizerMeta {
  const model = ggufString(f, 'tokenizer.ggml.model');
  const tokens = ggufArray(f, 'tokenizer.ggml.tokens', [GgufType.STRING]) as string[] | undefined;
  if (!tokens || tokens.length === 0) throw new FormatError(f.path, `metadata 'tokenizer.ggml.tokens' is missing or empty; expected the vocabulary as an ARRAY of STRING`);
  const n = tokens.length;
  const perToken = (key: string, types: readonly number[]): number[] | undefined => {
    const v = ggufArray(f, key, types) as number[] | undefined;
    if (v && v.length !== n) throw new FormatError(f.path, `metadata '${key}' has ${v.length} entries but 'tokenizer.ggml.tokens' has ${n}; expected one per token`);
    return v;
  };
  const scores = perToken('tokenizer.ggml.scores', [GgufType.FLOAT32, GgufType.FLOAT64]);
  const tokenTypes = perToken('tokenizer.ggml.token_type', GGUF_INT_TYPES);
  tokenTypes?.forEach((t, i) => {
    if (!(t >= 1 && t <= 6)) throw new FormatError(f.path, `metadata 'tokenizer.ggml.token_type'[${i}] (token ${JSON.stringify(tokens[i])}) is ${t}; expected 1..6 (normal, unknown, control, user-defined, unused, byte)`);
  });
  const merges = ggufArray(f, 'tokenizer.ggml.merges', [GgufType.STRING]) as string[] | undefined;
  const meta: GgufTokenizerMeta = { model, tokens, scores, tokenTypes, merges, bosId: null, eosId: null, unkId: null, padId: null };
  if (f.metadata.has('tokenizer.ggml.pre')) meta.pre = ggufString(f, 'tokenizer.ggml.pre');
  for (const [field, key] of Object.entries(ID_KEYS) as [keyof typeof ID_KEYS, string][]) {
    const kv = f.metadata.get(`tokenizer.ggml.${key}`);
    if (!kv) continue;
    if (!GGUF_INT_TYPES.includes(kv.type) || typeof kv.value !== 'number') throw new FormatError(f.path, `metadata 'tokenizer.ggml.${key}' is not an integer; expected a UINT32 token id`);
    meta[field] = kv.value >= 0 && kv.value < n ? kv.value : null; // llama.cpp writes 0xFFFFFFFF for "none"
  }
  if (f.metadata.has('tokenizer.ggml.add_bos_token')) meta.addBos = ggufBool(f, 'tokenizer.ggml.add_bos_token', true);
  if (f.metadata.has('tokenizer.ggml.add_eos_token')) meta.addEos = ggufBool(f, 'tokenizer.ggml.add_eos_token', false);
  if (f.metadata.has('tokenizer.ggml.add_space_prefix')) meta.addSpacePrefix = ggufBool(f, 'tokenizer.ggml.add_space_prefix', true);
  if (f.metadata.has('tokenizer.chat_template')) meta.chatTemplate = ggufString(f, 'tokenizer.chat_template');
  return meta;
}

/** The record as GGUF metadata, with the value types llama.cpp's gguf-py writes. */
export function ggufTokenizerKvs(m: GgufTokenizerMeta): [string, GgufKv][] {
  const kvs: [string, GgufKv][] = [['tokenizer.ggml.model', { type: GgufType.STRING, value: m.model }]];
  if (m.pre !== undefined) kvs.push(['tokenizer.ggml.pre', { type: GgufType.STRING, value: m.pre }]);
  kvs.push(['tokenizer.ggml.tokens', { type: GgufType.ARRAY, value: { itemType: GgufType.STRING, values: m.tokens } }]);
  if (m.scores) kvs.push(['tokenizer.ggml.scores', { type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, values: m.scores } }]);
  if (m.tokenTypes) kvs.push(['tokenizer.ggml.token_type', { type: GgufType.ARRAY, value: { itemType: GgufType.INT32, values: m.tokenTypes } }]);
  if (m.merges) kvs.push(['tokenizer.ggml.merges', { type: GgufType.ARRAY, value: { itemType: GgufType.STRING, values: m.merges } }]);
  for (const [field, key] of Object.entries(ID_KEYS) as [keyof typeof ID_KEYS, string][]) {
    const id = m[field];
    if (id !== null) kvs.push([`tokenizer.ggml.${key}`, { type: GgufType.UINT32, value: id }]);
  }
  if (m.addBos !== undefined) kvs.push(['tokenizer.ggml.add_bos_token', { type: GgufType.BOOL, value: m.addBos }]);
  if (m.addEos !== undefined) kvs.push(['tokenizer.ggml.add_eos_token', { type: GgufType.BOOL, value: m.addEos }]);
  if (m.addSpacePrefix !== undefined) kvs.push(['tokenizer.ggml.add_space_prefix', { type: GgufType.BOOL, value: m.addSpacePrefix }]);
  if (m.chatTemplate !== undefined) kvs.push(['tokenizer.chat_template', { type: GgufType.STRING, value: m.chatTemplate }]);
  return kvs;
}
