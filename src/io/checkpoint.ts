// distill's own checkpoint: one .safetensors file (F32, our canonical tensor names) whose
// __metadata__ carries {format: 'distill-checkpoint', version: '1', config: <ModelConfig JSON>}.
// A directory checkpoint is that file saved as <dir>/model.safetensors. No optimizer state here.

import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelConfig, ConfigError, validateConfig } from '../model/config.js';
import { buildLayout, paramView } from '../model/layout.js';
import { crc32c } from './crc32c.js';
import { FormatError } from './errors.js';
import { checkParamsFit } from './params-fit.js';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'distill-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** The file name of a directory checkpoint. */
export const CHECKPOINT_FILE = 'model.safetensors';

const CONFIG_KEYS: (keyof ModelConfig)[] = ['family', 'dim', 'nLayers', 'nHeads', 'nKvHeads', 'hiddenDim', 'vocabSize', 'maxSeqLen', 'normEps', 'ropeTheta', 'ropeMode', 'tiedEmbeddings', 'qkvBias', 'lowRank'];
/** Keys a checkpoint config may leave out (absent: a dense model). */
const OPTIONAL_KEYS: (keyof ModelConfig)[] = ['lowRank'];

/** The .safetensors file of a checkpoint path (a file, or a directory holding model.safetensors). */
export function checkpointFile(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, CHECKPOINT_FILE) : path;
}

/** True when a parsed safetensors file carries distill checkpoint metadata. */
export function isDistillCheckpoint(f: SafetensorsFile): boolean {
  return f.metadata.format === CHECKPOINT_FORMAT;
}

/** Saves atomically (tmp then rename). `path` ending in .safetensors is a file; otherwise a directory. */
export function saveCheckpoint(path: string, config: ModelConfig, params: Float32Array, extra: Record<string, string> = {}): string {
  const layout = buildLayout(validateConfig(config));
  if (params.length !== layout.total) throw new ConfigError(`params has ${params.length} values, the config's layout needs ${layout.total}`);
  let file = path;
  if (!path.endsWith('.safetensors')) {
    mkdirSync(path, { recursive: true });
    file = join(path, CHECKPOINT_FILE);
  }
  // A diverged model is never written: one NaN or Inf and the file is refused (the older checkpoint stays).
  for (let i = 0; i < params.length; i++) {
    if (!Number.isFinite(params[i])) {
      const bad = params.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);
      const at = layout.entries.find((e) => i >= e.offset && i < e.offset + e.size)!;
      throw new ConfigError(`not writing ${file}: ${bad} of ${params.length} parameters are NaN or infinite (the first in '${at.name}'); the run diverged`);
    }
  }
  const config1 = Object.fromEntries(CONFIG_KEYS.map((k) => [k, config[k]]));
  const meta = {
    ...extra, format: CHECKPOINT_FORMAT, version: String(CHECKPOINT_VERSION), config: JSON.stringify(config1),
    crc32c: paramsChecksum(params), // of the parameters in layout order: a flipped byte in the data is caught on load
  };
  writeSafetensors(file, layout.entries.map((e) => ({ name: e.name, shape: e.shape, data: paramView(layout, params, e.name) })), meta);
  return file;
}

/** CRC-32C of the parameters' bytes in layout order, as 8 hex digits. */
function paramsChecksum(params: Float32Array): string {
  return crc32c(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).toString(16).padStart(8, '0');
}

/** Reads a config from checkpoint metadata, rejecting unknown or missing keys. */
function parseConfig(file: string, raw: string | undefined): ModelConfig {
  if (raw === undefined) throw new FormatError(file, `distill checkpoint metadata has no 'config'`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(file, `distill checkpoint 'config' metadata is not valid JSON (${(e as Error).message})`);
  }
  const unknown = Object.keys(j).filter((k) => !(CONFIG_KEYS as string[]).includes(k));
  if (unknown.length) throw new FormatError(file, `unknown config key(s) ${unknown.join(', ')}; expected only ${CONFIG_KEYS.join(', ')}`);
  const missing = CONFIG_KEYS.filter((k) => !(k in j) && !OPTIONAL_KEYS.includes(k));
  if (missing.length) throw new FormatError(file, `config is missing ${missing.join(', ')}`);
  if (j.family !== 'llama' && j.family !== 'gpt2') throw new FormatError(file, `config family '${String(j.family)}'; expected 'llama' or 'gpt2'`);
  if (j.ropeMode !== 'interleaved' && j.ropeMode !== 'half') throw new FormatError(file, `config ropeMode '${String(j.ropeMode)}'; expected 'interleaved' or 'half'`);
  try {
    return validateConfig(j as unknown as ModelConfig, 'checkpoint config');
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(file, e.message);
    throw e;
  }
}

/** Loads a distill checkpoint whose safetensors file is already parsed. */
export function checkpointFromSafetensors(f: SafetensorsFile): { config: ModelConfig; params: Float32Array } {
  if (!isDistillCheckpoint(f)) throw new FormatError(f.path, `not a distill checkpoint: expected __metadata__.format '${CHECKPOINT_FORMAT}', got ${JSON.stringify(f.metadata.format)} (a Hugging Face weights file loads through its folder, next to config.json)`);
  if (f.metadata.version !== String(CHECKPOINT_VERSION)) throw new FormatError(f.path, `distill checkpoint version ${f.metadata.version}; this distill reads version ${CHECKPOINT_VERSION}`);
  const config = parseConfig(f.path, f.metadata.config);
  checkParamsFit(f.path, config, [...f.entries.values()].reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0), 'its tensors');
  const layout = buildLayout(config);
  const params = new Float32Array(layout.total);
  for (const e of layout.entries) {
    const t = f.entries.get(e.name);
    if (!t) throw new FormatError(f.path, `missing tensor '${e.name}' (expected shape [${e.shape.join(', ')}] from the config)`);
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new FormatError(f.path, `tensor '${e.name}' has shape [${t.shape.join(', ')}], but the config implies [${e.shape.join(', ')}]`);
    }
    paramView(layout, params, e.name).set(f.readF32(e.name));
  }
  const extra = [...f.entries.keys()].filter((n) => !layout.byName.has(n));
  if (extra.length) throw new FormatError(f.path, `unexpected tensor(s) ${extra.slice(0, 5).join(', ')} for this config`);
  const recorded = f.metadata.crc32c; // absent in checkpoints written before checksums
  if (recorded !== undefined && recorded !== paramsChecksum(params)) {
    throw new FormatError(f.path, `checksum mismatch: the parameters' CRC-32C is ${paramsChecksum(params)}, the file recorded ${recorded} when it was written; the file is damaged`);
  }
  return { config, params };
}

export function loadDistillCheckpoint(path: string): { config: ModelConfig; params: Float32Array } {
  return checkpointFromSafetensors(readSafetensors(checkpointFile(path)));
}
