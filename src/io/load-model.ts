// One entry point for every model file distill reads: detects the format of a path (HF folder,
// distill .safetensors checkpoint, GGUF file, llama2.c file) and returns config + params in our layout.
// It does not pick a backend or build the model; src/model/ does that from what this returns.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { checkpointFromSafetensors, CHECKPOINT_FILE } from './checkpoint.js';
import { FormatError } from './errors.js';
import { firstBytes } from './file-head.js';
import { looksLikeGguf, parseGguf } from './gguf.js';
import { ggufToModel } from './gguf-model.js';
import { readHfFolder } from './hf.js';
import { looksLikeLlama2c, parseLlama2c } from './llama2c.js';
import { parseSafetensors } from './safetensors.js';

export type CheckpointSource = 'hf' | 'distill' | 'llama2c-legacy' | 'llama2c-v1' | 'llama2c-v2' | 'gguf';

export interface LoadedCheckpoint {
  config: ModelConfig;
  params: Float32Array;
  /** Which reader produced it. */
  source: CheckpointSource;
  /** The path it was read from. */
  path: string;
  /** Bytes of the weight files on disk. */
  bytesOnDisk: number;
  /** The ids the model's own files say generation stops at (HF generation_config.json /
   *  config.json eos_token_id); [] when they name none (the tokenizer's EOS is used then). */
  eosIds: number[];
}

const WHAT = 'a Hugging Face folder (config.json), a distill .safetensors checkpoint, a GGUF file (magic \'GGUF\'), or a llama2.c .bin (magic \'ak42\' or legacy header)';


function folderBytes(dir: string): number {
  let total = 0;
  for (const n of ['model.safetensors', 'model.safetensors.index.json']) if (existsSync(join(dir, n))) total += statSync(join(dir, n)).size;
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    for (const shard of new Set(Object.values(map))) if (existsSync(join(dir, shard))) total += statSync(join(dir, shard)).size;
  }
  return total;
}

/** Loads any checkpoint distill understands; throws a FormatError naming the path otherwise. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new FormatError(path, `no such file or folder; expected ${WHAT}`);
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'config.json'))) {
      return { ...readHfFolder(path), source: 'hf', path, bytesOnDisk: folderBytes(path) };
    }
    if (existsSync(join(path, CHECKPOINT_FILE))) return loadCheckpoint(join(path, CHECKPOINT_FILE));
    throw new FormatError(path, `folder has neither config.json nor ${CHECKPOINT_FILE}; expected ${WHAT}`);
  }
  const size = statSync(path).size;
  const head = firstBytes(path, 64);
  if (path.endsWith('.safetensors')) {
    const f = parseSafetensors(path, readFileSync(path));
    return { ...checkpointFromSafetensors(f), source: 'distill', path, bytesOnDisk: size, eosIds: [] };
  }
  if (looksLikeGguf(head)) {
    const f = parseGguf(path, readFileSync(path));
    const m = ggufToModel(f);
    const eos = f.metadata.get('tokenizer.ggml.eos_token_id')?.value; // llama.cpp stops generation at it
    const eosIds = typeof eos === 'number' && eos >= 0 && eos < m.config.vocabSize ? [eos] : [];
    return { config: m.config, params: m.params, source: 'gguf', path, bytesOnDisk: size, eosIds };
  }
  if (looksLikeLlama2c(head)) {
    const m = parseLlama2c(path, readFileSync(path));
    const source: CheckpointSource = m.version === 'legacy' ? 'llama2c-legacy' : m.version === 1 ? 'llama2c-v1' : 'llama2c-v2';
    return { config: m.config, params: m.params, source, path, bytesOnDisk: size, eosIds: [] };
  }
  if (head.length >= 8) {
    const hl = Number(head.readBigUInt64LE(0));
    if (hl > 1 && hl < size && head[8] === 0x7b /* '{' */) {
      const f = parseSafetensors(path, readFileSync(path));
      return { ...checkpointFromSafetensors(f), source: 'distill', path, bytesOnDisk: size, eosIds: [] };
    }
  }
  throw new FormatError(path, `unrecognised checkpoint (first bytes ${head.subarray(0, 8).toString('hex')}); expected ${WHAT}`);
}

/** Tokenizer files a model folder may hold, in the order src/data's loadTokenizer looks for them. */
const FOLDER_TOKENIZERS = ['tokenizer.json', 'tokenizer.model', 'tokenizer.bin'];

/** Where the tokenizer a checkpoint carries is (a GGUF file's vocabulary: the file; a model
 *  folder holding tokenizer.json / .model / .bin: the folder), or null when it carries none. */
export function carriedTokenizerPath(ck: LoadedCheckpoint): string | null {
  if (ck.source === 'gguf') return ck.path;
  return statSync(ck.path).isDirectory() && FOLDER_TOKENIZERS.some((f) => existsSync(join(ck.path, f))) ? ck.path : null;
}
