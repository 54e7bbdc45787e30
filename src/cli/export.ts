// `distill export SOURCE --format F --out PATH`: a run's student (or any checkpoint) written where
// people run models, with its tokenizer in the form each target expects. Every check a format
// makes (can it express this model, this tokenizer, this dtype) runs before anything is written;
// the output is written under a temporary name and renamed into place, so an interrupted export
// leaves nothing half-written under the final name. The writers themselves live in src/io and
// src/data; this file picks them and moves files.
import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadTokenizer, type Tokenizer } from '../data/index.js';
import { ggufTokenizerMetaOf } from '../data/gguf-tokenizer.js';
import { GGUF_WRITE_TYPES, type GgufWriteType, writeGgufModel } from '../io/gguf-write.js';
import { hfTokenizerFilesProblem, writeHfTokenizerFiles } from '../data/hf-tokenizer-files.js';
import { writeHfFolder } from '../io/hf.js';
import { checkOnnxWritable, writeOnnxFolder } from '../io/onnx-write.js';
import { encodeLlama2c, llama2cProblem, type Llama2cVersion } from '../io/llama2c.js';
import { carriedTokenizerPath, type LoadedCheckpoint, loadCheckpoint } from '../io/load-model.js';
import { loadRecipe } from '../recipe/load.js';
import { listCheckpoints } from '../train/train-state.js';
import { JobProgress } from '../monitor/job-progress.js';
import { CliUsageError } from './generate.js';
import { createModel, denseModel } from '../model/index.js';

const HF_DTYPES = ['F32', 'F16', 'BF16'] as const;
/** The quantized GGUF tensor types --quant takes. */
const GGUF_QUANTS = GGUF_WRITE_TYPES.filter((t) => t !== 'F32' && t !== 'F16');
type HfDtype = (typeof HF_DTYPES)[number];

export const EXPORT_FORMATS = ['hf', 'gguf', 'onnx', 'llama2c'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface ExportFlags {
  format: string;
  out: string;
  /** gguf: quantize the 2-D tensors (q8_0, q4_0, q4_k, q6_k). */
  quant?: string;
  /** hf: the safetensors dtype (f32, f16, bf16); gguf: the unquantized tensors' (f32, f16). */
  dtype?: string;
  tokenizer?: string;
  llama2cVersion: string;
  /** onnx: past_key_values inputs / present outputs (default true; --no-kv-cache: logits only). */
  kvCache?: boolean;
  overwrite?: boolean;
  /** A progress line while tensors are converted (default true; --no-progress: none). */
  progress?: boolean;
}

/** What an export starts from: the weights and the tokenizer their ids mean (null: none known). */
export interface ExportSource {
  checkpoint: LoadedCheckpoint;
  tokenizer: Tokenizer | null;
  /** 'run runs/x (step 600)' or the checkpoint path. */
  what: string;
}

/** A checkpoint whose factored matrices (config.lowRank, from `distill shrink --rank`) are
 *  multiplied out: every export format holds dense matrices. */
function densified(ck: LoadedCheckpoint): LoadedCheckpoint {
  if (!ck.config.lowRank) return ck;
  const m = denseModel(createModel(ck.config, ck.params));
  return { ...ck, config: m.config, params: m.params };
}

/** A run folder (its newest checkpoint, its recipe's tokenizer) or any checkpoint distill reads. */
export function exportSource(path: string, tokenizerPath?: string): ExportSource {
  if (existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'recipe.resolved.yaml'))) {
    const steps = listCheckpoints(path);
    if (steps.length === 0) throw new CliUsageError(`${path}: run folder holds no complete checkpoint under checkpoints/; train it first (distill run)`);
    const step = steps[steps.length - 1];
    const checkpoint = densified(loadCheckpoint(join(path, 'checkpoints', `step-${String(step).padStart(6, '0')}`, 'model.safetensors')));
    const recipe = loadRecipe(join(path, 'recipe.resolved.yaml'));
    return { checkpoint, tokenizer: loadTokenizer(tokenizerPath ?? recipe.data.tokenizer), what: `run ${path} (step ${step})` };
  }
  const checkpoint = densified(loadCheckpoint(path));
  const tok = tokenizerPath ?? carriedTokenizerPath(checkpoint);
  return { checkpoint, tokenizer: tok === null ? null : loadTokenizer(tok), what: path };
}

/** The problem that stops `format` from holding this model and tokenizer, or null. Writes nothing. */
export function exportProblem(format: ExportFormat, ck: LoadedCheckpoint, tok: Tokenizer | null): string | null {
  const c = ck.config;
  if (tok && tok.vocabSize > c.vocabSize) return `the tokenizer ${tok.source} has ${tok.vocabSize} tokens but the model's embedding only ${c.vocabSize} rows`;
  if (format === 'hf' || format === 'onnx') {
    if (!tok) return `${format === 'hf' ? 'a Hugging Face folder' : 'an ONNX folder (transformers.js layout)'} needs the tokenizer: give --tokenizer`;
    if (format === 'onnx') {
      try {
        checkOnnxWritable(c, ck.params, { kvCache: true });
      } catch (e) {
        return (e as Error).message;
      }
    }
    return hfTokenizerFilesProblem(tok);
  }
  if (format === 'gguf') {
    if (!tok) return 'llama.cpp runs a GGUF only with its vocabulary inside: give --tokenizer';
    try {
      ggufTokenizerMetaOf(tok);
    } catch (e) {
      return (e as Error).message;
    }
    return null;
  }
  return llama2cProblem(c);
}

/** generation_config.json as transformers writes it: the ids generation starts and stops with. */
function generationConfig(ck: LoadedCheckpoint, tok: Tokenizer): Record<string, unknown> {
  const eos = ck.eosIds.length ? ck.eosIds : tok.eosId !== null ? [tok.eosId] : [];
  const g: Record<string, unknown> = { _from_model_config: true };
  if (tok.bosId !== null) g.bos_token_id = tok.bosId;
  if (eos.length) g.eos_token_id = eos.length === 1 ? eos[0] : eos;
  if (tok.padId !== null) g.pad_token_id = tok.padId;
  return g;
}

/** Writes the export into `tmp` (a file or a folder); returns the files written (for the summary). */
function writeExport(format: ExportFormat, src: ExportSource, tmp: string, llama2cVersion: Llama2cVersion, ggufType?: GgufWriteType, kvCache?: boolean, dtype: HfDtype = 'F32', progress?: JobProgress): string[] {
  const { checkpoint: ck, tokenizer: tok } = src;
  if (format === 'llama2c') {
    progress?.update(0, 2);
    const bytes = encodeLlama2c(ck.config, ck.params, llama2cVersion);
    progress?.update(1, 2);
    writeFileSync(tmp, bytes);
    progress?.update(2, 2);
    progress?.done();
    return [];
  }
  if (format === 'gguf') {
    const r = writeGgufModel(tmp, ck.config, ck.params, { type: ggufType!, tokenizer: ggufTokenizerMetaOf(tok!), name: basename(src.what), onTensor: (i, n) => progress?.update(i, n) });
    progress?.done();
    const counts = new Map<string, number>();
    for (const t of Object.values(r.tensorTypes)) counts.set(t, (counts.get(t) ?? 0) + 1);
    return [`arch ${r.arch}; tensors: ${[...counts].map(([t, n]) => `${n} ${t}`).join(', ')}`];
  }
  // hf / onnx: the writers take no callback; the line advances by stage (weights, config, tokenizer)
  progress?.update(0, 3);
  if (format === 'onnx') writeOnnxFolder(tmp, ck.config, ck.params, { kvCache: kvCache ?? true });
  else writeHfFolder(tmp, ck.config, ck.params, dtype);
  progress?.update(1, 3);
  const cfgPath = join(tmp, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  const gen = generationConfig(ck, tok!);
  for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id']) if (gen[k] !== undefined) cfg[k] = gen[k];
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2) + '\n');
  writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(gen, null, 2) + '\n');
  progress?.update(2, 3);
  const tokFiles = writeHfTokenizerFiles(tmp, tok!);
  progress?.update(3, 3);
  progress?.done();
  return ['config.json', format === 'onnx' ? `onnx/model.onnx (opset 17${kvCache === false ? '' : ', past_key_values in, present out'})` : 'model.safetensors', 'generation_config.json', ...tokFiles];
}

/** Runs one export; returns the summary lines. */
export function runExport(source: string, f: ExportFlags): string[] {
  if (!(EXPORT_FORMATS as readonly string[]).includes(f.format)) throw new CliUsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${f.format}'`);
  const format = f.format as ExportFormat;
  const version: Llama2cVersion = f.llama2cVersion === 'legacy' ? 'legacy' : f.llama2cVersion === '1' ? 1 : f.llama2cVersion === '2' ? 2 : (() => {
    throw new CliUsageError(`--llama2c-version must be legacy, 1 or 2, got '${f.llama2cVersion}'`);
  })();
  const dtype = HF_DTYPES.find((d) => d.toLowerCase() === (f.dtype ?? 'f32').toLowerCase());
  if (!dtype) throw new CliUsageError(`--dtype must be one of ${HF_DTYPES.map((d) => d.toLowerCase()).join(', ')}, got '${f.dtype}'`);
  if ((format === 'onnx' || format === 'llama2c') && dtype !== 'F32') throw new CliUsageError(`--dtype ${f.dtype}: ${format} is written in f32`);
  if (format === 'gguf' && dtype === 'BF16') throw new CliUsageError('--dtype bf16: the GGUF writer stores f32, f16 or quantized tensors; give --dtype f16 or --quant');
  const quant = f.quant === undefined ? undefined : GGUF_QUANTS.find((t) => t.toLowerCase() === f.quant!.toLowerCase());
  if (f.quant !== undefined && !quant) throw new CliUsageError(`--quant must be one of ${GGUF_QUANTS.map((t) => t.toLowerCase()).join(', ')}, got '${f.quant}'`);
  if (quant && format !== 'gguf') throw new CliUsageError(`--quant is for --format gguf; ${format} holds f32${format === 'hf' ? ' / f16 / bf16 (--dtype)' : ''}`);
  const ggufType: GgufWriteType = quant ?? (dtype === 'F16' ? 'F16' : 'F32');
  if (existsSync(f.out) && !f.overwrite) throw new CliUsageError(`${f.out} already exists; pass --overwrite to replace it`);
  const src = exportSource(source, f.tokenizer);
  const problem = exportProblem(format, src.checkpoint, src.tokenizer);
  if (problem) throw new CliUsageError(`cannot export ${src.what} as ${format}: ${problem}`);
  const tmp = `${f.out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  if (format === 'hf' || format === 'onnx') mkdirSync(tmp, { recursive: true });
  try {
    process.stderr.write(`exporting ${src.what} (${src.checkpoint.params.length} parameters) as ${format} ...\n`);
    const files = writeExport(format, src, tmp, version, ggufType, f.kvCache, dtype, new JobProgress({ enabled: f.progress !== false, ...(format === 'gguf' ? { label: 'export tensors', unit: 'tensor' } : { label: `export ${format} stages`, unit: 'stage' }) }));
    rmSync(f.out, { recursive: true, force: true });
    renameSync(tmp, f.out);
    const detail = format === 'llama2c' ? ` (${version === 'legacy' ? 'legacy' : `v${version}`})` : format === 'gguf' ? ` (${ggufType.toLowerCase()})` : format === 'hf' ? ` (${dtype.toLowerCase()})` : '';
    return [`${f.out}: ${format}${detail} from ${src.what}, ${statSync(f.out).isDirectory() ? 'folder' : `${statSync(f.out).size} bytes`}`, ...files.map((n) => `  ${n}`)];
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a run\'s student (or any checkpoint) as a Hugging Face folder, a GGUF file, an ONNX folder (transformers.js layout) or a llama2.c file, with its tokenizer')
    .argument('<source>', 'a run folder (its newest checkpoint and its recipe\'s tokenizer) or a checkpoint')
    .requiredOption('--format <f>', EXPORT_FORMATS.join(' | '))
    .requiredOption('--out <path>', 'the folder (hf, onnx) or file (gguf, llama2c) to write')
    .option('--tokenizer <path>', 'the tokenizer the ids mean (default: the run\'s, or the one a model folder carries)')
    .option('--dtype <d>', 'hf: safetensors dtype, f32 | f16 | bf16 (rounded to nearest even); gguf: f32 | f16', 'f32')
    .option('--quant <q>', `gguf: quantize the 2-D tensors, ${GGUF_QUANTS.map((t) => t.toLowerCase()).join(' | ')} (1-D stay f32; rows a block does not divide fall back to q8_0 or f16, as llama.cpp allows)`)
    .option('--no-kv-cache', 'onnx: logits only, without past_key_values inputs and present outputs')
    .option('--llama2c-version <v>', 'llama2c: legacy (run.c) | 1 (fp32, magic ak42) | 2 (Q8_0)', 'legacy')
    .option('--overwrite', 'replace an existing --out')
    .option('--no-progress', 'no progress line')
    .action((source: string, f: ExportFlags) => {
      for (const line of runExport(source, f)) console.log(line);
    });
}
