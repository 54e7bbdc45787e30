// ONNX export (src/io/onnx-write.ts) checked by running the files in onnxruntime-node against our
// engine: stories260K (interleaved rope, tied head), a random Qwen2-style model (half rope, q/k/v
// biases, grouped-query attention, untied head) and a random GPT-2, each without and with a KV
// cache; stories260K's export also against PyTorch's logits and through the onnx teacher. Also
// the file's header fields and every refusal, which need no onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { loadCheckpoint } from '../src/io/load-model.js';
import { onnxFolderFiles, writeOnnxFolder, writeOnnxModel } from '../src/io/onnx-write.js';
import { readProtoFields } from '../src/io/protobuf-wire.js';
import { type ModelConfig, ConfigError, createActivations, createModel, forward, generate, headSize, initParams } from '../src/model/index.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';
import { loadTokenizer } from '../src/data/load-tokenizer.js';
import { corpusSplit } from '../src/eval/perplexity.js';
import { openTeacher } from '../src/teacher/open-teacher.js';
import { loadFixture } from './helpers/fixtures.js';

const S = '../shared/data/stories260K';
const tmp = mkdtempSync(join(tmpdir(), 'distill-onnx-export-'));
const be = selectBackend();
const TOL = 1e-4; // the bound on |ORT logit - our logit|

let ort: typeof Ort | null = null;
let ortError = '';
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  ortError = (e as Error).message;
}
const skipOrt = ort ? false : `onnxruntime-node did not load (${ortError}); the export is then checked only without running it`;

const tok = loadTokenizer(`${S}/tok512.bin`);
/** Two real windows of 64 tokens: the start of stories.txt's validation split (shared/data/README.md). */
const W = 64;
const val = corpusSplit('../shared/data/tinystories/stories.txt', tok, 'val');
const windows = [Array.from(val.subarray(0, W)), Array.from(val.subarray(W, 2 * W))];

const randomModel = (c: ModelConfig, seed: number): Float32Array => {
  const p = initParams(c, new Rng(seed));
  // Weights 3x the init scale: logits up to about 6, as a trained model's; at 10x (logits ~60) the
  // function is so ill-conditioned that our own ref and native backends differ by 3e-3.
  // Norms != 1 and biases != 0.
  for (let i = 0; i < p.length; i++) p[i] = 3 * p[i] + 0.1 * Math.sin(i);
  return p;
};
const qwen2: ModelConfig = {
  family: 'llama', dim: 48, hiddenDim: 80, nLayers: 2, nHeads: 6, nKvHeads: 2, vocabSize: 512, maxSeqLen: 128,
  normEps: 1e-6, ropeTheta: 1e6, ropeMode: 'half', tiedEmbeddings: false, qkvBias: true,
};
const gpt2: ModelConfig = {
  family: 'gpt2', dim: 32, hiddenDim: 128, nLayers: 2, nHeads: 4, nKvHeads: 4, vocabSize: 512, maxSeqLen: 128,
  normEps: 1e-5, ropeTheta: 10000, ropeMode: 'half', tiedEmbeddings: true, qkvBias: true,
};
const stories = loadCheckpoint(`${S}/stories260K.bin`);
const cases: { name: string; config: ModelConfig; params: Float32Array }[] = [
  { name: 'stories260K', config: stories.config, params: stories.params },
  { name: 'qwen2-tiny', config: qwen2, params: randomModel(qwen2, 1) },
  { name: 'gpt2-tiny', config: gpt2, params: randomModel(gpt2, 2) },
];

/** Our engine's logits (B,T,V) for rows of equal length. */
function ourLogits(config: ModelConfig, params: Float32Array, rows: number[][]): Float32Array {
  const B = rows.length, T = rows[0].length;
  const model = createModel(config, params);
  const acts = createActivations(config, B, T, { training: false, allLogits: true });
  return forward(be, model, acts, Int32Array.from(rows.flat()), B, T).slice();
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length, 'lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const argmax = (a: ArrayLike<number>, from: number, n: number): number => {
  let best = from;
  for (let i = from; i < from + n; i++) if (a[i] > a[best]) best = i;
  return best - from;
};

/** Runs a session on rows of ids (B,T) with an all-ones mask over past + current and positions P.. */
class OrtDecoder {
  constructor(readonly session: Ort.InferenceSession, readonly config: ModelConfig) {}

  static async open(path: string, config: ModelConfig): Promise<OrtDecoder> {
    return new OrtDecoder(await ort!.InferenceSession.create(path), config);
  }

  /** `past`: the previous run's outputs, whose present.* become this run's past_key_values.*. */
  async run(rows: number[][], past: Ort.InferenceSession.OnnxValueMapType | null, mask?: number[][]): Promise<Ort.InferenceSession.OnnxValueMapType> {
    const B = rows.length, T = rows[0].length;
    const P = past ? (past['present.0.key'].dims[2] as number) : 0;
    const i64 = (v: number[][], cols: number) => new ort!.Tensor('int64', BigInt64Array.from(v.flat(), (x) => BigInt(x)), [B, cols]);
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: i64(rows, T),
      attention_mask: i64(mask ?? rows.map(() => new Array<number>(P + T).fill(1)), P + T),
      position_ids: i64(mask ? mask.map((m) => positionsFromMask(m)) : rows.map(() => Array.from({ length: T }, (_, t) => P + t)), T),
    };
    if (this.session.inputNames.includes('past_key_values.0.key')) {
      const HS = headSize(this.config), NKV = this.config.nKvHeads;
      for (let l = 0; l < this.config.nLayers; l++) {
        for (const kind of ['key', 'value']) {
          feeds[`past_key_values.${l}.${kind}`] = past
            ? past[`present.${l}.${kind}`] as Ort.Tensor
            : new ort!.Tensor('float32', new Float32Array(0), [B, NKV, 0, HS]);
        }
      }
    }
    return this.session.run(feeds);
  }
}
/** transformers.js' position ids under left padding: cumsum(mask) - 1, 1 where masked. */
const positionsFromMask = (m: number[]): number[] => {
  let n = 0;
  return m.map((x) => (x ? n++ : 1));
};

/** The three cases exported both ways, once. */
const exported = new Map<string, { plain: string; kv: string }>();
function exportCase(name: string, config: ModelConfig, params: Float32Array): { plain: string; kv: string } {
  let e = exported.get(name);
  if (!e) {
    const plain = join(tmp, name, 'plain'), kv = join(tmp, name, 'kv');
    writeOnnxFolder(plain, config, params, { kvCache: false });
    writeOnnxFolder(kv, config, params, { kvCache: true });
    e = { plain: onnxFolderFiles(plain).model, kv: onnxFolderFiles(kv).model };
    exported.set(name, e);
  }
  return e;
}

for (const { name, config, params } of cases) {
  const rows = name === 'stories260K' ? windows : windows.map((w) => w.map((id) => (id * 7 + 3) % config.vocabSize));

  test(`${name}: ORT logits of 2 windows x ${W} equal ours, without and with the KV cache (past empty)`, { skip: skipOrt }, async (t) => {
    const files = exportCase(name, config, params);
    const want = ourLogits(config, params, rows);
    let spread = 0;
    for (let i = 0; i < want.length; i++) spread = Math.max(spread, Math.abs(want[i]));
    assert.ok(spread > 1, `logits are not all near zero (max |logit| ${spread})`);
    for (const [variant, path] of Object.entries(files)) {
      const dec = await OrtDecoder.open(path, config);
      const out = await dec.run(rows, null);
      assert.deepEqual(out.logits.dims, [2, W, config.vocabSize]);
      const d = maxAbsDiff(out.logits.data as Float32Array, want);
      t.diagnostic(`${name} ${variant}: max |ORT - ours| over 2x${W}x${config.vocabSize} logits = ${d.toExponential(2)}`);
      assert.ok(d <= TOL, `${variant}: max abs diff ${d} > ${TOL}`);
      if (variant === 'kv') assert.deepEqual(out['present.0.key'].dims, [2, config.nKvHeads, W, headSize(config)]);
    }
  });

  test(`${name}: the KV-cache model step by step (8-token prompt, then 8 single tokens) gives the full forward's logits`, { skip: skipOrt }, async (t) => {
    const files = exportCase(name, config, params);
    const V = config.vocabSize, T = 16;
    const want = ourLogits(config, params, rows.map((r) => r.slice(0, T)));
    const dec = await OrtDecoder.open(files.kv, config);
    let out = await dec.run(rows.map((r) => r.slice(0, 8)), null);
    let worst = 0;
    for (let t = 8; ; t++) {
      const got = out.logits.data as Float32Array, Tq = out.logits.dims[1] as number;
      for (let b = 0; b < 2; b++) {
        const last = got.subarray((b * Tq + Tq - 1) * V, (b * Tq + Tq) * V);
        worst = Math.max(worst, maxAbsDiff(last, want.subarray((b * T + t - 1) * V, (b * T + t) * V)));
      }
      if (t === T) break;
      out = await dec.run(rows.map((r) => [r[t]]), out);
      assert.deepEqual(out['present.1.value'].dims, [2, config.nKvHeads, t + 1, headSize(config)]);
    }
    t.diagnostic(`${name} kv step by step: max |ORT - ours| of the last-position logits over 9 steps = ${worst.toExponential(2)}`);
    assert.ok(worst <= TOL, `max abs diff ${worst} > ${TOL}`);
  });

  test(`${name}: greedy 32-token continuation through ORT with the KV cache equals ours`, { skip: skipOrt }, async () => {
    const files = exportCase(name, config, params);
    const prompt = tok.encode('Once upon a time', { bos: true });
    const ours = generate(be, createModel(config, params), prompt, { temperature: 0, maxNewTokens: 32 }).tokens;
    const dec = await OrtDecoder.open(files.kv, config);
    const got: number[] = [];
    let out = await dec.run([prompt], null);
    while (got.length < 32) {
      const Tq = out.logits.dims[1] as number;
      got.push(argmax(out.logits.data as Float32Array, (Tq - 1) * config.vocabSize, config.vocabSize));
      if (got.length < 32) out = await dec.run([[got[got.length - 1]]], out);
    }
    assert.deepEqual(got, ours);
    // shared/data/README.md: the real model's greedy continuation.
    if (name === 'stories260K') assert.match(tok.decode([...prompt, ...got]), /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\./);
  });

  test(`${name}: a left-padded row (attention_mask 0, transformers.js positions) gets its unpadded logits`, { skip: skipOrt }, async () => {
    const files = exportCase(name, config, params);
    const V = config.vocabSize, pad = 5, T = 20;
    const full = rows[0].slice(0, T), short = rows[1].slice(0, T - pad);
    const padded = [full, [...new Array<number>(pad).fill(0), ...short]];
    const mask = [full.map(() => 1), padded[1].map((_, i) => (i < pad ? 0 : 1))];
    const wantFull = ourLogits(config, params, [full]), wantShort = ourLogits(config, params, [short]);
    for (const path of Object.values(files)) {
      const got = (await (await OrtDecoder.open(path, config)).run(padded, null, mask)).logits.data as Float32Array;
      assert.ok(maxAbsDiff(got.subarray(0, T * V), wantFull) <= TOL, 'row 0');
      assert.ok(maxAbsDiff(got.subarray((T + pad) * V, 2 * T * V), wantShort) <= TOL, 'row 1, unpadded positions');
    }
  });
}

test('stories260K export: PyTorch\'s logits on the reference window, and the onnx teacher reads the folder', { skip: skipOrt }, async (t) => {
  // PyTorch's logits of one real window: test/fixtures/onnx/reference (/usr/bin/python3 scripts/gen-onnx-fixtures.py).
  const ref = loadFixture('onnx/reference').cases[0];
  const window = ref.params.tokens as number[];
  const files = exportCase('stories260K', stories.config, stories.params);
  const got = (await (await OrtDecoder.open(files.plain, stories.config)).run([window], null)).logits.data as Float32Array;
  const dTorch = maxAbsDiff(got, ref.f32('logits'));
  // The onnx teacher (src/teacher/onnx-teacher.ts), fed our KV folder as it feeds optimum's exports.
  const T = window.length, V = 512;
  const ctx = { be, tokenizer: tok, batch: 1, seqLen: T, corpus: { train: Int32Array.from(window), val: Int32Array.from(window) },
    processing: { topP: 1, labelSmoothing: 0 }, source: 'test.yaml' };
  const teacher = (await openTeacher({ kind: 'onnx', path: join(tmp, 'stories260K', 'kv') }, ctx))!;
  const out = await teacher.predict({ tokens: Int32Array.from(window), B: 1, T, split: 'val', offsets: new Int32Array(1), V, accept: ['logits'], temperature: 1 });
  assert.equal(out.kind, 'logits');
  const dTeacher = maxAbsDiff((out as { logits: Float32Array }).logits, ourLogits(stories.config, stories.params, [window]));
  t.diagnostic(`stories260K plain vs PyTorch on ${T} tokens: ${dTorch.toExponential(2)}; onnx teacher on the KV folder vs ours: ${dTeacher.toExponential(2)}`);
  assert.ok(dTorch <= TOL, `vs PyTorch ${dTorch}`);
  assert.ok(dTeacher <= TOL, `onnx teacher vs ours ${dTeacher}`);
});

/** Top-level fields of a ModelProto, and its graph's input / output names (onnx.proto field numbers). */
function readModelHeader(path: string): { irVersion: number; opsets: string[]; inputs: string[]; outputs: string[] } {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const nameOf = (vi: Uint8Array) => text([...readProtoFields(vi)].find((f) => f.field === 1)!.bytes);
  const r = { irVersion: 0, opsets: [] as string[], inputs: [] as string[], outputs: [] as string[] };
  for (const f of readProtoFields(readFileSync(path))) {
    if (f.field === 1) r.irVersion = f.num;
    if (f.field === 8) {
      const fs = [...readProtoFields(f.bytes)];
      r.opsets.push(`${text(fs.find((x) => x.field === 1)?.bytes ?? new Uint8Array())}:${fs.find((x) => x.field === 2)!.num}`);
    }
    if (f.field === 7) {
      for (const g of readProtoFields(f.bytes)) {
        if (g.field === 11) r.inputs.push(nameOf(g.bytes));
        if (g.field === 12) r.outputs.push(nameOf(g.bytes));
      }
    }
  }
  return r;
}

test('the folder: config.json and onnx/model.onnx, IR 8, opset ai.onnx 17, optimum input/output names', () => {
  const dir = join(tmp, 'folder');
  writeOnnxFolder(dir, qwen2, randomModel(qwen2, 3), { kvCache: true });
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'onnx']);
  assert.deepEqual(readdirSync(join(dir, 'onnx')), ['model.onnx']);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.model_type, 'qwen2');
  assert.equal(cfg.num_key_value_heads, 2);
  assert.equal(cfg.use_cache, true);
  const h = readModelHeader(join(dir, 'onnx', 'model.onnx'));
  assert.equal(h.irVersion, 8);
  assert.deepEqual(h.opsets, [':17']);
  const kv = (prefix: string, a: string, b: string) => [0, 1].flatMap((l) => [`${prefix}.${l}.${a}`, `${prefix}.${l}.${b}`]);
  assert.deepEqual(h.inputs, ['input_ids', 'attention_mask', 'position_ids', ...kv('past_key_values', 'key', 'value')]);
  assert.deepEqual(h.outputs, ['logits', ...kv('present', 'key', 'value')]);
  const plain = join(tmp, 'plain.onnx');
  writeOnnxModel(plain, qwen2, randomModel(qwen2, 3), { kvCache: false });
  assert.deepEqual(readModelHeader(plain).inputs, ['input_ids', 'attention_mask', 'position_ids']);
  assert.deepEqual(readModelHeader(plain).outputs, ['logits']);
});

test('refusals: one ConfigError naming what and why, and nothing written', () => {
  const refuse = (fn: () => void, expect: RegExp, path: string) => {
    assert.throws(fn, (e: Error) => e instanceof ConfigError && expect.test(e.message));
    assert.equal(existsSync(path), false, `${path} was not written`);
  };
  const p = randomModel(qwen2, 4);
  const dir = join(tmp, 'refused');
  refuse(() => writeOnnxFolder(dir, qwen2, p.subarray(1), { kvCache: true }), /params has \d+ values, the llama config's layout needs \d+/, dir);
  refuse(() => writeOnnxFolder(dir, { ...qwen2, nKvHeads: 4 }, p, { kvCache: true }), /nHeads 6 is not divisible by nKvHeads 4/, dir);
  refuse(() => writeOnnxFolder(dir, qwen2, p, {} as { kvCache: boolean }), /options\.kvCache must be true or false, got undefined/, dir);
  const huge: ModelConfig = { ...qwen2, dim: 4096, hiddenDim: 11008, nLayers: 32, nHeads: 32, nKvHeads: 32, vocabSize: 32000, maxSeqLen: 4096 };
  refuse(() => writeOnnxModel(join(dir, 'm.onnx'), huge, p, { kvCache: false }), /over protobuf's 2 GiB limit .*no external data/, dir);
  mkdirSync(join(tmp, 'a-folder.onnx'));
  assert.throws(() => writeOnnxModel(join(tmp, 'a-folder.onnx'), qwen2, p, { kvCache: false }), /is a folder; give the path of the \.onnx file/);
  assert.deepEqual(readdirSync(join(tmp, 'a-folder.onnx')), []);
});
