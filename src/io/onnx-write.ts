// Writes a student as an ONNX model (opset 17, IR version 8) that onnxruntime and transformers.js
// load: one file (writeOnnxModel), or a folder with config.json beside onnx/model.onnx
// (writeOnnxFolder). Every check runs before a byte is written; files appear by rename, whole.
// It does not write tokenizer files (the export command adds them) nor read ONNX back.

import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ModelConfig, ConfigError, headSize, validateConfig } from '../model/config.js';
import { buildLayout } from '../model/layout.js';
import { writeFileAtomic } from './atomic-write.js';
import { hfConfigJson } from './hf.js';
import { buildDecoderGraph } from './onnx-decoder.js';
import { encodeModel } from './onnx-proto.js';

export interface OnnxWriteOptions {
  /** true: past_key_values.* inputs and present.* outputs (decoder_model_merged style); false: logits only. */
  kvCache: boolean;
}

/** onnx.proto's IR version 8 goes with opset 17 (ONNX 1.12), which holds every op the graph uses. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
/** protobuf cannot encode a message of 2 GiB or more; weights beyond that need ONNX external data, which we do not write. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** Room left in the estimate for everything that is not a weight (nodes, names, shapes). */
const GRAPH_OVERHEAD = 64 * 1024 * 1024;

/** Throws a ConfigError naming what cannot be written, before anything is. */
export function checkOnnxWritable(config: ModelConfig, params: Float32Array, opts: OnnxWriteOptions): void {
  validateConfig(config, 'ONNX export');
  if (typeof opts?.kvCache !== 'boolean') throw new ConfigError(`ONNX export: options.kvCache must be true or false, got ${JSON.stringify(opts?.kvCache)}`);
  const layout = buildLayout(config);
  const ropeBytes = config.family === 'llama' ? 2 * config.maxSeqLen * (headSize(config) / 2) * 4 : 0;
  const bytes = layout.total * 4 + ropeBytes + GRAPH_OVERHEAD;
  if (bytes > PROTOBUF_LIMIT) {
    throw new ConfigError(`ONNX export: ${layout.total} parameters need about ${(bytes / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit for one file; this writer keeps weights inside the model (no external data), so it exports models under about 500M parameters`);
  }
  if (!(params instanceof Float32Array) || params.length !== layout.total) {
    throw new ConfigError(`ONNX export: params has ${params?.length} values, the ${config.family} config's layout needs ${layout.total}`);
  }
}

/**
 * Writes config + params as one ONNX model file at `path` (parent folders are created).
 * Throws a ConfigError on a config or params it cannot write, and nothing is written then.
 */
export function writeOnnxModel(path: string, config: ModelConfig, params: Float32Array, opts: OnnxWriteOptions): void {
  checkOnnxWritable(config, params, opts);
  if (existsSync(path) && statSync(path).isDirectory()) throw new ConfigError(`ONNX export: ${path} is a folder; give the path of the .onnx file to write`);
  const bytes = encodeModel(buildDecoderGraph(config, params, opts.kvCache), {
    irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET, producerName: 'distill',
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, bytes);
}

/** The files of an exported folder, as transformers.js looks for them. */
export const onnxFolderFiles = (dir: string) => ({ model: join(dir, 'onnx', 'model.onnx'), config: join(dir, 'config.json') });

/**
 * Writes `dir`/onnx/model.onnx and `dir`/config.json (the Hugging Face config, hfConfigJson).
 * Tokenizer files are not written here. Checks everything before writing either file.
 */
export function writeOnnxFolder(dir: string, config: ModelConfig, params: Float32Array, opts: OnnxWriteOptions): void {
  checkOnnxWritable(config, params, opts);
  const files = onnxFolderFiles(dir);
  writeOnnxModel(files.model, config, params, opts);
  writeFileAtomic(files.config, JSON.stringify({ ...hfConfigJson(config), use_cache: opts.kvCache }, null, 2) + '\n');
}
