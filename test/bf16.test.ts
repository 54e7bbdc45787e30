// bf16 weights (Backend.packBf16 / gemmBf16) and the bf16 teacher built on them, on every
// available backend: products against PyTorch (bf16 rounding of torch's .bfloat16(), float64 sums),
// the fused head loss with a bf16 teacher head against the same loss fed gemmBf16 logits, a bf16
// ModelTeacher against ref, and the errors (another backend's layout, rows, a trained bf16 model,
// a bad recipe value). Native runs its active path (amx where the CPU has it) and, in a child
// process with DISTILL_AMX=0, the 'emulated' path with the same checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableBackends, selectBackend } from '../src/engine/select.js';
import { createRefBackend } from '../src/engine/ref/index.js';
import { loadNativeAddon } from '../src/engine/native/index.js';
import { fromBf16 } from '../src/engine/ref/bf16.js';
import { EngineError, type HeadLossOptions, type HeadLossTeacher } from '../src/engine/backend.js';
import { Rng } from '../src/engine/rng.js';
import {
  createActivations, createModel, initParams, ModelError, withBf16Weights, type ModelConfig,
} from '../src/model/index.js';
import { backwardFromHidden } from '../src/model/backward.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { Recipe } from '../src/recipe/schema.js';
import { assertClose, loadFixture } from './helpers/fixtures.js';

// Expected values: test/fixtures/engine/gemm-bf16.json/.bin, written by
// `/usr/bin/python3 scripts/gen-engine-fixtures.py` (PyTorch 1.13: .bfloat16() then float64 matmul).
const fx = loadFixture('engine/gemm-bf16');
// Products of two bf16 values are exact in fp32; native sums K of them in fp32 (tile order), ref in
// float64: the same bound as the fp32 GEMM (test/engine-parity.test.ts).
const tolGemm = (K: number) => ({ rtol: 1e-5, atol: 1e-5 * Math.sqrt(Math.max(K, 1)) });

const backends = process.env.DISTILL_BACKEND ? [selectBackend(process.env.DISTILL_BACKEND)] : availableBackends();
const ref = createRefBackend();
const num = (v: unknown) => Number(v);

test('gemm-bf16 fixture has its cases, with exact ties and a denormal', () => {
  assert.equal(fx.cases.length, 6);
  assert.ok(fx.cases.some((c) => c.name.startsWith('64x32x32')));
});

test('ref packBf16 rounds like torch .bfloat16() (ties to even, denormals kept)', () => {
  for (const c of fx.cases.filter((x) => x.has('w_bf16'))) {
    const PN = num(c.params.packedN), K = num(c.params.K);
    const w = ref.packBf16(c.f32('w'), PN, K);
    const got = Float32Array.from(w.data, fromBf16);
    assertClose(got, c.f32('w_bf16'), { rtol: 0, atol: 0 }, `${c.name} w_bf16`);
  }
  // the tie cases by value: 1 + 2^-8 -> 1, 1 + 3·2^-8 -> 1 + 2^-6, NaN stays NaN
  const p = ref.packBf16(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN]), 1, 3);
  assert.deepEqual([fromBf16(p.data[0]), fromBf16(p.data[1])], [1, 1 + 2 ** -6]);
  assert.ok(Number.isNaN(fromBf16(p.data[2])));
});

for (const b of backends) {
  for (const c of fx.cases) {
    test(`${b.name} gemmBf16 ${c.name} vs PyTorch`, () => {
      const M = num(c.params.M), N = num(c.params.N), K = num(c.params.K), PN = num(c.params.packedN), beta = num(c.params.beta);
      const w = b.packBf16(c.f32('w'), PN, K);
      const out = beta === 0 ? new Float32Array(M * N).fill(NaN) : c.f32('c_in');
      b.gemmBf16(out, c.f32('a'), w, M, N, beta);
      assertClose(out, c.f32('c'), tolGemm(K), `${b.name} ${c.name}`);
    });
  }

  test(`${b.name} gemmBf16 refuses another layout and too many rows`, () => {
    const other = b.name === 'ref' ? { N: 2, K: 2, layout: 'native-amx', data: new Uint16Array(1024) } : ref.packBf16(new Float32Array(4), 2, 2);
    assert.throws(() => b.gemmBf16(new Float32Array(4), new Float32Array(4), other, 2, 2, 0),
      (e: unknown) => e instanceof EngineError && /packed for '.*', this backend needs/.test(e.message));
    const w = b.packBf16(new Float32Array(4), 2, 2);
    assert.throws(() => b.gemmBf16(new Float32Array(6), new Float32Array(6), w, 3, 3, 0), /N = 3 must be an integer in \[0, 2\]/);
    assert.throws(() => b.gemmBf16(new Float32Array(1), new Float32Array(4), w, 2, 2, 0), /'c'/);
  });

  test(`${b.name} fused head loss: a bf16 teacher head gives the loss of gemmBf16 logits`, () => {
    const rng = new Rng(7);
    const N = 37, V = 101, C = 16, Ct = 24, Vt = 104;  // odd V, padded teacher head, N over 2 chunks
    const f = (n: number, s: number) => Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * s);
    const hidden = f(N * C, 1), weight = f(V * C, 0.3), tHidden = f(N * Ct, 1), tWeight = f(Vt * Ct, 0.4);
    const targets = Int32Array.from({ length: N }, (_, i) => (i % 9 === 4 ? -100 : rng.nextInt(V)));
    const packed = b.packBf16(tWeight, Vt, Ct);
    const tLogits = new Float32Array(N * V);
    b.gemmBf16(tLogits, tHidden, packed, N, V, 0);
    const o: HeadLossOptions = { alpha: 0.3, divergence: { kind: 'forward-kl' }, temperature: 2, scaleT2: true, ignoreIndex: -100, gradScale: 1, chunkRows: 16 };
    const run = (teacher: HeadLossTeacher) => {
      const dH = new Float32Array(N * C), dW = new Float32Array(V * C), ce = new Float32Array(N), kd = new Float32Array(N);
      const r = b.headLossForwardBackward({ dHidden: dH, dWeight: dW, rowCe: ce, rowKd: kd, hidden, weight, teacher, targets, N, V, C, ...o });
      return { r, dH, dW, kd };
    };
    const viaHead = run({ kind: 'hidden', hidden: tHidden, weight: tWeight, C: Ct, weightBf16: packed });
    const viaLogits = run({ kind: 'logits', logits: tLogits });
    const fp32 = run({ kind: 'hidden', hidden: tHidden, weight: tWeight, C: Ct });
    // same teacher logits bit for bit (one gemmBf16 per chunk vs one for all rows: identical sums per element)
    assert.ok(Math.abs(viaHead.r.kd - viaLogits.r.kd) <= 1e-6 * Math.abs(viaLogits.r.kd), `kd ${viaHead.r.kd} vs ${viaLogits.r.kd}`);
    assertClose(viaHead.dH, viaLogits.dH, { rtol: 1e-5, atol: 1e-7 }, 'dHidden');
    assertClose(viaHead.dW, viaLogits.dW, { rtol: 1e-5, atol: 1e-7 }, 'dWeight');
    // and not the fp32 teacher's: bf16 moved the KD term (by about 2^-9 relative in the logits)
    assert.notEqual(viaHead.r.kd, fp32.r.kd);
    assert.ok(Math.abs(viaHead.r.kd - fp32.r.kd) < 0.02 * Math.abs(fp32.r.kd), `bf16 kd ${viaHead.r.kd} vs fp32 ${fp32.r.kd}`);
  });
}

const tiny: ModelConfig = {
  family: 'llama', dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 48, vocabSize: 67, maxSeqLen: 16,
  normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: false, qkvBias: false,
};

test('bf16 ModelTeacher: native logits match ref, differ from fp32 by bf16 rounding only', () => {
  const model = createModel(tiny, initParams(tiny, new Rng(5)));
  const tokens = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 7 + 3) % 67);
  const fp32 = new ModelTeacher(ref, model, 2, 16, 'tiny').logits(tokens, 2, 16).slice();
  const refBf16 = new ModelTeacher(ref, model, 2, 16, 'tiny', 'bf16').logits(tokens, 2, 16).slice();
  let maxAbs = 0, maxDiff = 0;
  for (let i = 0; i < fp32.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(fp32[i])); maxDiff = Math.max(maxDiff, Math.abs(fp32[i] - refBf16[i])); }
  assert.ok(maxDiff > 0 && maxDiff < 0.02 * maxAbs, `bf16 vs fp32 max diff ${maxDiff} (max |logit| ${maxAbs})`);
  for (const b of backends.filter((x) => x.name !== 'ref')) {
    const got = new ModelTeacher(b, model, 2, 16, 'tiny', 'bf16').logits(tokens, 2, 16);
    // activations are re-rounded to bf16 at every matmul: an fp32 ulp of difference upstream can
    // flip one rounding, so the bound is a bf16 step of the logits, not an fp32 one
    assertClose(got, refBf16, { rtol: 1e-2, atol: 1e-2 * maxAbs }, `${b.name} bf16 teacher logits`);
  }
});

test('a model with bf16 weight copies cannot be trained', () => {
  const model = withBf16Weights(ref, createModel(tiny, initParams(tiny, new Rng(5))));
  const acts = createActivations(tiny, 1, 4, { training: true });
  assert.throws(() => backwardFromHidden(ref, model, acts, new Float32Array(4 * 32)),
    (e: unknown) => e instanceof ModelError && /frozen bf16 weight copies/.test(e.message));
});

test('recipe teacher.precision: bf16 accepted, fp32 by default, others refused', () => {
  const base = { name: 'x', train: { steps: 1 }, data: { path: 'd.txt', tokenizer: 't.bin' }, student: { kind: 'config', dim: 8, nLayers: 1, nHeads: 1, hiddenDim: 8 } };
  const p = (teacher: object) => Recipe.safeParse({ ...base, teacher });
  const ok = p({ kind: 'checkpoint', path: 'm.bin', precision: 'bf16' });
  assert.ok(ok.success && ok.data.teacher.kind === 'checkpoint' && ok.data.teacher.precision === 'bf16');
  const def = p({ kind: 'checkpoint', path: 'm.bin' });
  assert.ok(def.success && def.data.teacher.kind === 'checkpoint' && def.data.teacher.precision === 'fp32');
  const bad = p({ kind: 'checkpoint', path: 'm.bin', precision: 'fp16' });
  assert.ok(!bad.success && JSON.stringify(bad.error.issues).includes('precision'));
});

// The emulated native path (CPUs without AMX) with the same tests, in a child process: the path
// is chosen once per process.
const addon = loadNativeAddon();
if (addon && !process.env.DISTILL_AMX && (process.env.DISTILL_BACKEND ?? 'native') === 'native') {
  test('native emulated path (DISTILL_AMX=0): the same tests pass', () => {
    const file = fileURLToPath(import.meta.url);
    // NODE_TEST_CONTEXT would make the child report to this runner instead of printing TAP
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env: { ...env, DISTILL_AMX: '0', DISTILL_BACKEND: 'native' } });
    assert.equal(r.status, 0, `child failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /# fail 0/);
    assert.match(r.stdout, /# pass 1\d/);  // the fixture, gemm, error and head-loss cases ran
  });
  test('native reports its bf16 path', () => {
    assert.ok(['amx', 'emulated'].includes(addon.info().bf16));
  });
  // The AMX kernels run (and the tests above check them) only where the CPU and OS allow tiles.
  test('native AMX tile path is the active bf16 path', { skip: addon.info().amx ? false : 'no usable AMX on this CPU/OS: the AMX kernels are not exercised here' }, () => {
    assert.equal(addon.info().bf16, 'amx');
  });
}
if (addon && process.env.DISTILL_AMX === '0') {
  test('DISTILL_AMX=0 selects the emulated path', () => {
    assert.equal(addon.info().bf16, 'emulated');
  });
}
