// The parsers the fuzzer feeds, each through the entry point a user reaches it by (loadCheckpoint,
// loadTokenizer + encode/decode, loadRecipe, StoreReader + readRows, readTfEvents), with the seed
// files each starts from (the real files in ../shared/data where there are some, and small files our
// own writers make) and, for formats with checksums, a fix-up that recomputes them so mutations reach
// the parser behind the check. What counts as a clean error is in worker.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Rng } from '../src/engine/rng.js';
import { crc32c, maskedCrc32c } from '../src/io/crc32c.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { writeGgufModel } from '../src/io/gguf-write.js';
import { writeHfFolder } from '../src/io/hf.js';
import { writeLlama2c } from '../src/io/llama2c.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { FormatError } from '../src/io/errors.js';
import { readTfEvents, TfEventsWriter } from '../src/io/tfevents.js';
import { loadTokenizer } from '../src/data/load-tokenizer.js';
import type { TokenizerFormat } from '../src/data/load-tokenizer.js';
import { ggufTokenizerMetaOf } from '../src/data/gguf-tokenizer.js';
import { initParams } from '../src/model/model.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadRecipe } from '../src/recipe/load.js';
import { StoreReader } from '../src/store/store-reader.js';

/** How a seed file is mutated: as bytes, or (also) as a parsed JSON / YAML tree. */
export type FileKind = 'bytes' | 'json' | 'yaml';

/** One starting input: a single file (`files` has one entry) or a folder of files. */
export interface Seed {
  name: string;
  /** File name (inside the input folder, for folder targets) -> path of the seed copy. */
  files: Record<string, string>;
  /** The files mutations may touch, with how. */
  mutable: Record<string, FileKind>;
  /** How often it is picked relative to the others (default 1): big real files are slow to parse. */
  weight?: number;
}

export interface FuzzTarget {
  name: string;
  /** 'file': the input is one file named `input<ext>`; 'folder': a folder holding the seed's files. */
  shape: 'file' | 'folder';
  ext: string;
  /** Writes the seed files under `dir` (called once, by the parent) and lists them. */
  makeSeeds(dir: string): Seed[];
  /** The parse, as a user reaches it; must throw a clean error or return. */
  run(path: string): void | Promise<void>;
  /** Recomputes checksums of a mutated file (applied to half the inputs). */
  fixup?(file: string, bytes: Uint8Array): Uint8Array;
}

const data = join('..', 'shared', 'data');
const real = (...p: string[]): string => join(data, ...p);

/** A small llama config (16 wide, one layer, 64 ids) for the files our writers make. */
function tinyModel(): { config: ModelConfig; params: Float32Array } {
  const config: ModelConfig = {
    family: 'llama', dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, vocabSize: 64, maxSeqLen: 32,
    normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false,
  };
  return { config, params: initParams(config, new Rng(1)) };
}

function single(name: string, path: string, kind: FileKind = 'bytes', weight = 1): Seed {
  return { name, files: { input: path }, mutable: { input: kind }, weight };
}

const tokenizerProbe = 'Once upon a time, Lily saw a big dog. "Hi!" she said. Ünïcödé 日本 🐶\n\n  end';

function tokenizerTarget(name: string, format: TokenizerFormat, ext: string, seeds: (dir: string) => Seed[]): FuzzTarget {
  return {
    name, shape: 'file', ext, makeSeeds: seeds,
    run(path) {
      const tok = loadTokenizer(path, format);
      // A tokenizer that loads must also encode and decode: garbage tables show up here.
      const ids = tok.encode(tokenizerProbe);
      tok.decode(ids);
    },
  };
}

/** Rewrites every TFRecord's two masked CRCs, walking the framing as far as it holds. */
function fixTfRecords(b: Uint8Array): Uint8Array {
  const out = b.slice();
  const dv = new DataView(out.buffer);
  let pos = 0;
  while (pos + 12 <= out.length) {
    dv.setUint32(pos + 8, maskedCrc32c(out.subarray(pos, pos + 8)), true);
    const len = dv.getUint32(pos, true);
    if (dv.getUint32(pos + 4, true) !== 0 || pos + 12 + len + 4 > out.length) break;
    dv.setUint32(pos + 12 + len, maskedCrc32c(out.subarray(pos + 12, pos + 12 + len)), true);
    pos += 16 + len;
  }
  return out;
}

/** A safetensors file with its checkpoint's parameter CRC dropped from the metadata (as files
 *  written before checksums have it), so mutated weights and shapes reach the loader behind it. */
function withoutParamsChecksum(b: Uint8Array): Uint8Array {
  if (b.length < 8) return b;
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  if (n > b.length - 8) return b;
  let header: { __metadata__?: Record<string, unknown> };
  try { header = JSON.parse(Buffer.from(b.subarray(8, 8 + n)).toString('utf8')) as typeof header; } catch { return b; }
  if (typeof header !== 'object' || header === null || typeof header.__metadata__ !== 'object' || header.__metadata__ === null) return b;
  delete header.__metadata__.crc32c;
  const json = Buffer.from(JSON.stringify(header).padEnd(n, ' '), 'utf8');
  const out = new Uint8Array(8 + json.length + b.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(b.subarray(8 + n), 8 + json.length);
  return out;
}

/** The real 656K tokenizer.json with its vocabulary cut to the first `n` ids and the merges among
 *  them: the same structure, parsed ten times faster. */
function trimmedTokenizerJson(dir: string, n: number): string {
  const j = JSON.parse(readFileSync(real('tinystories-656k', 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: (string | string[])[] }; added_tokens?: { id: number }[] };
  const vocab = Object.fromEntries(Object.entries(j.model.vocab).filter(([, id]) => id < n));
  j.model.vocab = vocab;
  j.model.merges = j.model.merges.filter((m) => {
    const [a, b] = typeof m === 'string' ? m.split(' ') : m;
    return a + b in vocab && a in vocab && b in vocab;
  });
  j.added_tokens = (j.added_tokens ?? []).filter((t) => t.id < n);
  const p = join(dir, 'tokenizer-300.json');
  writeFileSync(p, JSON.stringify(j));
  return p;
}

/** A target that misbehaves on purpose, by the sum of its input's bytes (unclean error, crash,
 *  hang, huge allocation; otherwise a clean error): proves the harness sees each. Only listed when
 *  DISTILL_FUZZ_SELFTEST=1, which the test sets. */
const SELFTEST: FuzzTarget = {
  name: 'selftest', shape: 'file', ext: '.bin',
  makeSeeds(dir) {
    const p = join(dir, 'selftest.bin');
    writeFileSync(p, Uint8Array.from({ length: 64 }, (_, i) => i));
    return [single('bytes 0..63', p)];
  },
  run(path) {
    const what = readFileSync(path).reduce((a, x) => a + x, 0) % 64;
    if (what % 16 === 1) throw new TypeError('broken on purpose');
    if (what === 2) process.abort();
    if (what === 3) for (;;) { /* hang on purpose */ }
    if (what === 4) void new Float32Array(2 ** 29);
    throw new FormatError(path, 'a clean refusal');
  },
};

export const TARGETS: readonly FuzzTarget[] = [
  ...(process.env.DISTILL_FUZZ_SELFTEST === '1' ? [SELFTEST] : []),
  {
    name: 'llama2c', shape: 'file', ext: '.bin',
    makeSeeds(dir) {
      const { config, params } = tinyModel();
      const seeds = [single('stories260K.bin', real('stories260K', 'stories260K.bin'))];
      for (const v of ['legacy', 1, 2] as const) {
        const p = join(dir, `tiny-${v}.bin`);
        writeLlama2c(p, config, params, v, 16);
        seeds.push(single(`tiny-${v}.bin`, p, 'bytes', 2));
      }
      return seeds;
    },
    run(path) { loadCheckpoint(path); },
  },
  {
    name: 'safetensors', shape: 'file', ext: '.safetensors',
    makeSeeds(dir) {
      const { config, params } = tinyModel();
      const p = join(dir, 'tiny.safetensors');
      saveCheckpoint(p, config, params, { step: '7' });
      return [single('tiny checkpoint', p, 'bytes', 4), single('tinystories-656k model.safetensors', real('tinystories-656k', 'model.safetensors'))];
    },
    run(path) { loadCheckpoint(path); },
    fixup(_file, b) { return withoutParamsChecksum(b); },
  },
  {
    name: 'hf-folder', shape: 'folder', ext: '',
    makeSeeds(dir) {
      const { config, params } = tinyModel();
      const tiny = join(dir, 'tiny-hf');
      writeHfFolder(tiny, { ...config, ropeMode: 'half' }, params);
      const folder = (name: string, d: string, names: string[], weight: number): Seed => ({
        name, weight, files: Object.fromEntries(names.map((n) => [n, join(d, n)])),
        mutable: Object.fromEntries(names.map((n) => [n, n.endsWith('.json') ? 'json' : 'bytes'] as const)),
      });
      return [
        folder('tinystories-656k', real('tinystories-656k'), ['config.json', 'generation_config.json', 'model.safetensors'], 1),
        folder('tiny HF folder', tiny, readdirSync(tiny).filter((n) => n.endsWith('.json') || n.endsWith('.safetensors')), 4),
      ];
    },
    run(path) { loadCheckpoint(path); },
  },
  {
    name: 'gguf', shape: 'file', ext: '.gguf',
    makeSeeds(dir) {
      const { config, params } = tinyModel();
      const tok = loadTokenizer(real('stories260K', 'tok512.bin'));
      const seeds = [single('stories260K.gguf', real('stories260K-gguf', 'stories260K.gguf'))];
      for (const type of ['F16', 'Q8_0', 'Q4_K'] as const) {
        const p = join(dir, `tiny-${type}.gguf`);
        writeGgufModel(p, { ...config, vocabSize: 512 }, initParams({ ...config, vocabSize: 512 }, new Rng(2)), { type, tokenizer: ggufTokenizerMetaOf(tok) });
        seeds.push(single(`tiny ${type}.gguf`, p));
      }
      return seeds;
    },
    run(path) {
      loadCheckpoint(path);
      const tok = loadTokenizer(path, 'gguf');
      tok.decode(tok.encode(tokenizerProbe));
    },
  },
  tokenizerTarget('tokenizer-bin', 'llama2c', '.bin', () => [
    single('tok512.bin', real('stories260K', 'tok512.bin'), 'bytes', 30),
    single('llama2c tokenizer.bin (32000 pieces)', real('llama2c-tokenizer', 'tokenizer.bin')),
  ]),
  tokenizerTarget('tokenizer-model', 'sentencepiece', '.model', () => [
    single('tok512.model', real('stories260K', 'tok512.model'), 'bytes', 60),
    single('llama2c tokenizer.model (32000 pieces)', real('llama2c-tokenizer', 'tokenizer.model')),
  ]),
  tokenizerTarget('tokenizer-json', 'hf', '.json', (dir) => [
    single('tinystories-656k tokenizer.json', real('tinystories-656k', 'tokenizer.json'), 'json'),
    single('tinystories-656k tokenizer.json, vocabulary cut to 300', trimmedTokenizerJson(dir, 300), 'json', 6),
  ]),
  {
    name: 'recipe', shape: 'file', ext: '.yaml',
    makeSeeds() {
      const dir = join('recipes', 'tinystories');
      return readdirSync(dir).filter((n) => n.endsWith('.yaml')).map((n) => single(n, join(dir, n), 'yaml'));
    },
    run(path) { loadRecipe(path, [], { checkFiles: false }); },
  },
  {
    name: 'store', shape: 'folder', ext: '',
    makeSeeds(dir) {
      const text = join(dir, 'store-text.txt');
      writeFileSync(text, readFileSync(real('tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/).slice(0, 40).join('\n\n'));
      const seeds: Seed[] = [];
      for (const [enc, k] of [['q6', 8], ['f16', 4]] as const) {
        const out = join(dir, `store-${enc}`);
        const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'cache', '--teacher', real('stories260K', 'stories260K.bin'),
          '--tokenizer', real('stories260K', 'tok512.bin'), '--data', text, '--out', out, '--k', String(k), '--encoding', enc,
          '--context', '32', '--shard-positions', '256', '--no-progress'], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`fuzz: making the store seed failed: ${r.stderr}`);
        const names = readdirSync(out);
        seeds.push({
          name: `store ${enc} k=${k}`, files: Object.fromEntries(names.map((n) => [n, join(out, n)])),
          mutable: Object.fromEntries(names.map((n) => [n, n.endsWith('.json') ? 'json' : 'bytes'] as const)),
        });
      }
      return seeds;
    },
    run(path) {
      const r = new StoreReader(path);
      const n = r.splitStart('val') + r.splitLength('val');
      const k = r.k, chunk = 64;
      const ids = new Int32Array(chunk * k), lp = new Float32Array(chunk * k), tail = new Float32Array(chunk);
      for (let pos = 0; pos < n; pos += chunk) r.readRows(ids, lp, tail, 0, pos, Math.min(chunk, n - pos));
    },
    fixup(file, b) { // the shard's trailing CRC-32C over everything before it
      if (!file.endsWith('.json') && b.length >= 4) new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc32c(b.subarray(0, b.length - 4)), true);
      return b;
    },
  },
  {
    name: 'tfevents', shape: 'file', ext: '',
    makeSeeds(dir) {
      const sub = join(dir, 'tfevents');
      mkdirSync(sub, { recursive: true });
      const w = new TfEventsWriter(sub, { host: 'fuzz', now: () => 1_700_000_000_000 });
      for (let s = 1; s <= 20; s++) w.addScalars(s, { 'train/loss': 5 / s, 'train/lr': 1e-3 });
      w.addText(20, 'samples/0', 'Once upon a time there was a dog.');
      w.close();
      return [single('our event file', w.path)];
    },
    run(path) { readTfEvents(path); },
    fixup(_file, b) { return fixTfRecords(b); },
  },
];

/** Copies every seed's files into `dir/<target>/` once, so the workers read stable paths. */
export function prepareSeeds(dir: string, t: FuzzTarget): Seed[] {
  const own = join(dir, t.name);
  mkdirSync(own, { recursive: true });
  const seeds = t.makeSeeds(own);
  for (const s of seeds) for (const p of Object.values(s.files)) if (!existsSync(p)) throw new Error(`fuzz: seed file ${p} is missing`);
  writeFileSync(join(own, 'seeds.json'), JSON.stringify(seeds));
  return seeds;
}
