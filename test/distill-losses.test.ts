// Parity tests of the loss math against PyTorch: every KD divergence of the reference KD kernels
// (src/engine/ref, the spec) and hard CE through src/distill's α mix (dense, T ∈ {1,2},
// V ∈ {5,257,1000}), sparse top-k teachers in each tail mode, the α mix, all-masked batches,
// teacher logit processing, chunked-vs-plain walks, schedules and argument errors.
// Expected values: test/fixtures/distill/*.json/.bin from `/usr/bin/python3 scripts/gen-distill-fixtures.py`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, loadFixture, type FixtureCase, type Tolerance } from './helpers/fixtures.js';
import {
  DistillError, distillLossForwardBackward, processTeacherLogitsDense, processTeacherLogitsSparse, scheduleValue,
} from '../src/distill/index.js';
import type { Divergence as KdDivergence, TailMode } from '../src/engine/loss-kinds.js';
import { createRefBackend } from '../src/engine/ref/index.js';
import { kdDenseForwardBackward } from '../src/engine/ref/kd-dense.js';
import { kdSparseForwardBackward } from '../src/engine/ref/kd-sparse.js';

const ref = createRefBackend();
/** The masked rows' target in the fixtures (scripts/gen-distill-fixtures.py: PyTorch's -100). */
const IGNORE = -100;
/** Hard CE alone: the α mix at α = 1 with no teacher. */
function hardCe(grad: Float32Array | null, rows: Float32Array, student: Float32Array, targets: Int32Array, N: number, V: number): { loss: number } {
  return distillLossForwardBackward(ref, grad, rows, new Float32Array(N), student, { kind: 'none' }, targets, N, V,
    { alpha: 1, divergence: { kind: 'forward-kl' }, ignoreIndex: IGNORE });
}

// Tolerances. Both sides compute in float64 from the same float32 inputs; what remains is the
// float32 rounding of the stored outputs and exp/log ulps. Measured worst (all 368 cases):
// loss/row-loss 5.4e-8 relative; gradient 3.5e-8 of the batch's largest |g|. The tolerances
// below leave ≥10× headroom; a wrong term (e.g. dropping λq/m in skew reverse KL) is off by >1e-3.
const LOSS_TOL: Tolerance = { atol: 1e-7, rtol: 1e-6 };
/** Gradient entries are compared against the batch's largest |g|: atol scales with it. */
function gradTol(expected: Float32Array): Tolerance {
  let m = 0;
  for (const v of expected) m = Math.max(m, Math.abs(v));
  return { atol: 5e-7 * m + 1e-12, rtol: 1e-6 };
}

const losses = loadFixture('distill/losses');
const sparse = loadFixture('distill/sparse');
const processing = loadFixture('distill/processing');

function byName(cases: FixtureCase[], name: string): FixtureCase {
  const c = cases.find((x) => x.name === name);
  if (!c) throw new Error(`fixture case '${name}' missing`);
  return c;
}

function divergenceOf(c: FixtureCase): KdDivergence {
  const kind = c.params.kind as string;
  switch (kind) {
    case 'jsd': return { kind, beta: c.params.beta as number };
    case 'skew-forward-kl': case 'skew-reverse-kl': return { kind, lambda: c.params.lambda as number };
    case 'forward-kl': case 'reverse-kl': case 'tvd': case 'soft-ce': case 'mse': return { kind };
    default: throw new Error(`unknown kind ${kind}`);
  }
}

function checkAgainst(c: FixtureCase, loss: number, rowLoss: Float32Array, grad: Float32Array): void {
  assertClose([loss], c.f32('loss'), LOSS_TOL, `${c.name} loss`);
  assertClose(rowLoss, c.f32('rowLoss'), LOSS_TOL, `${c.name} rowLoss`);
  assertClose(grad, c.f32('grad'), gradTol(c.f32('grad')), `${c.name} grad`);
  for (const v of grad) if (!Number.isFinite(v)) throw new Error(`${c.name}: non-finite gradient`);
}

/** Runs one dense fixture case with the given chunk size; returns loss, rows, grad. */
function runDense(c: FixtureCase, chunk: number): { loss: number; rows: Float32Array; grad: Float32Array } {
  const inp = byName(losses.cases, 'inputs-' + (c.params.inputs as string));
  const N = inp.params.N as number, V = inp.params.V as number;
  const student = inp.f32('student');
  const targets = c.params.masked ? new Int32Array(N).fill(IGNORE) : inp.i32('targets');
  const rows = new Float32Array(N), grad = new Float32Array(N * V).fill(Number.NaN); // NaN: every entry must be written
  const kind = c.params.kind as string;
  const T = c.params.T as number, scaleT2 = c.params.scaleT2 as boolean;
  let loss: number;
  if (kind === 'ce') {
    loss = hardCe(grad, rows, student, targets, N, V).loss; // the CE op walks V in its own chunks
  } else if (kind === 'mix') {
    const rowCe = new Float32Array(N);
    loss = distillLossForwardBackward(ref, grad, rowCe, rows, student, { kind: 'logits', logits: inp.f32('teacher') }, targets, N, V,
      { alpha: c.params.alpha as number, divergence: { kind: 'forward-kl' }, temperature: T, scaleT2, ignoreIndex: IGNORE, chunk }).loss;
  } else if (c.params.teacherKind === 'logprobs') {
    const lp = byName(losses.cases, 'inputs-logprobs-V257').f32('teacher');
    loss = kdDenseForwardBackward(grad, rows, student, lp, 'logprobs', targets, N, V, { divergence: divergenceOf(c), temperature: T, scaleT2, ignoreIndex: IGNORE, chunk }).loss;
  } else {
    loss = kdDenseForwardBackward(grad, rows, student, inp.f32('teacher'), 'logits', targets, N, V,
      { divergence: divergenceOf(c), temperature: T, scaleT2, ignoreIndex: IGNORE, chunk }).loss;
  }
  return { loss, rows, grad };
}

const denseCases = losses.cases.filter((c) => !c.name.startsWith('inputs-'));
const sparseCases = sparse.cases.filter((c) => !c.name.startsWith('inputs-'));

test('fixture case counts (a shrunk fixture fails here, not silently)', () => {
  // 3 V × (ce + 12 kinds × 2 T) + 11 noT2 (V=257) + 13 all-masked + 2 logprobs + 1 mix
  assert.equal(denseCases.length, 3 * (1 + 12 * 2) + 11 + 1 + 13 + 2 + 1);
  // 2 V × (3 tail modes + 1 renormalized 'ignore') × 11 divergences × 2 T + 1 mix
  assert.equal(sparseCases.length, 2 * 4 * 11 * 2 + 1);
  assert.equal(processing.cases.length, 1 + 4 + 6);
});

test('dense losses match PyTorch (value, per-row, gradient) for every case', () => {
  for (const c of denseCases) {
    const r = runDense(c, 4096);
    checkAgainst(c, r.loss, r.rows, r.grad);
  }
});

test('all-masked batches: loss 0, gradient exactly 0, no NaN', () => {
  const masked = denseCases.filter((c) => c.params.masked === true);
  assert.equal(masked.length, 13);
  for (const c of masked) {
    const r = runDense(c, 64);
    assert.equal(r.loss, 0, c.name);
    for (const v of r.grad) assert.equal(v, 0, c.name);
    for (const v of r.rows) assert.equal(v, 0, c.name);
  }
});

test('chunked walk equals the single-chunk walk (chunk 1, 7, 64 vs V)', () => {
  for (const c of denseCases.filter((x) => !x.name.includes('V5'))) {
    const plain = runDense(c, 1 << 20);
    for (const chunk of [1, 7, 64]) {
      const r = runDense(c, chunk);
      assertClose([r.loss], [plain.loss], { atol: 1e-12, rtol: 1e-12 }, `${c.name} chunk ${chunk} loss`);
      assertClose(r.grad, plain.grad, { atol: 1e-12, rtol: 2e-7 }, `${c.name} chunk ${chunk} grad`);
    }
  }
});

/** Plain textbook forward KL / reverse KL with full (V) float64 probability arrays per row. */
function plainKl(student: Float32Array, teacher: Float32Array, N: number, V: number, T: number, reverse: boolean): Float64Array {
  const out = new Float64Array(N);
  const softmax = (x: Float32Array, off: number): Float64Array => {
    const p = new Float64Array(V);
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, x[off + j] / T);
    let s = 0;
    for (let j = 0; j < V; j++) { p[j] = Math.exp(x[off + j] / T - m); s += p[j]; }
    for (let j = 0; j < V; j++) p[j] /= s;
    return p;
  };
  for (let i = 0; i < N; i++) {
    const p = softmax(teacher, i * V), q = softmax(student, i * V);
    const [a, b] = reverse ? [q, p] : [p, q];
    for (let j = 0; j < V; j++) out[i] += a[j] * Math.log(a[j] / b[j]);
  }
  return out;
}

test('online chunked KL equals a plain full-softmax KL per row', () => {
  const inp = byName(losses.cases, 'inputs-V1000');
  const N = 4, V = 1000, student = inp.f32('student'), teacher = inp.f32('teacher');
  for (const reverse of [false, true]) {
    const rows = new Float32Array(N);
    kdDenseForwardBackward(null, rows, student, teacher, 'logits', null, N, V,
      { divergence: { kind: reverse ? 'reverse-kl' : 'forward-kl' }, temperature: 2, scaleT2: false, ignoreIndex: IGNORE, chunk: 33 });
    assertClose(rows, plainKl(student, teacher, N, V, 2, reverse), { atol: 1e-6, rtol: 1e-5 }, `plain ${reverse ? 'reverse' : 'forward'} KL`);
  }
});

function runSparse(c: FixtureCase, chunk: number): { loss: number; rows: Float32Array; grad: Float32Array } {
  const inp = byName(sparse.cases, 'inputs-' + (c.params.inputs as string));
  const N = inp.params.N as number, V = inp.params.V as number, k = inp.params.k as number;
  const student = inp.f32('student'), targets = inp.i32('targets');
  const teacher = { ids: inp.i32('ids'), logProbs: inp.f32('logProbs'), tail: inp.f32('tail'), k, tailMode: c.params.tailMode as TailMode };
  const rows = new Float32Array(N), grad = new Float32Array(N * V).fill(Number.NaN);
  const T = c.params.T as number;
  let loss: number;
  if (c.params.kind === 'mix') {
    const rowCe = new Float32Array(N);
    loss = distillLossForwardBackward(ref, grad, rowCe, rows, student, { kind: 'sparse', ...teacher }, targets, N, V,
      { alpha: c.params.alpha as number, divergence: { kind: 'jsd', beta: c.params.beta as number }, temperature: T, ignoreIndex: IGNORE, chunk }).loss;
  } else {
    loss = kdSparseForwardBackward(grad, rows, student, teacher, targets, N, V, { divergence: divergenceOf(c), temperature: T, ignoreIndex: IGNORE, chunk }).loss;
  }
  return { loss, rows, grad };
}

test('sparse top-k losses match PyTorch in every tail mode', () => {
  const seen = new Set<string>();
  for (const c of sparseCases) {
    const r = runSparse(c, 4096);
    checkAgainst(c, r.loss, r.rows, r.grad);
    seen.add(c.params.tailMode as string);
  }
  assert.deepEqual([...seen].sort(), ['bucket', 'ignore', 'uniform']);
});

test('sparse: chunked walk equals the single-chunk walk', () => {
  for (const c of sparseCases.filter((x) => x.name.includes('V257'))) {
    const plain = runSparse(c, 1 << 20), r = runSparse(c, 5);
    assertClose([r.loss], [plain.loss], { atol: 1e-12, rtol: 1e-12 }, `${c.name} loss`);
    assertClose(r.grad, plain.grad, { atol: 1e-12, rtol: 2e-7 }, `${c.name} grad`);
  }
});

test('JSD endpoints are exact forward/reverse KL, not the degenerate limit', () => {
  const inp = byName(losses.cases, 'inputs-V257');
  const N = 6, V = 257, s = inp.f32('student'), t = inp.f32('teacher'), y = inp.i32('targets');
  const run = (divergence: KdDivergence): number => kdDenseForwardBackward(null, new Float32Array(N), s, t, 'logits', y, N, V, { divergence, ignoreIndex: IGNORE }).loss;
  assert.equal(run({ kind: 'jsd', beta: 0 }), run({ kind: 'forward-kl' }));
  assert.equal(run({ kind: 'jsd', beta: 1 }), run({ kind: 'reverse-kl' }));
  assert.ok(run({ kind: 'jsd', beta: 1e-9 }) < 1e-6, 'β → 0 without the special case tends to 0');
});

test('teacher logit processing matches PyTorch (ids exact, log-probs, tail)', () => {
  const inp = byName(processing.cases, 'inputs');
  const N = inp.params.N as number, V = inp.params.V as number, logits = inp.f32('logits');
  const tol: Tolerance = { atol: 2e-6, rtol: 2e-6 };
  for (const c of processing.cases) {
    const p = c.params;
    const opts = { temperature: p.T as number, clip: (p.clip as number) || null, labelSmoothing: p.eps as number };
    if (c.name.startsWith('dense-')) {
      const out = new Float32Array(N * V);
      processTeacherLogitsDense(out, logits, N, V, opts);
      assertClose(out, c.f32('logProbs'), tol, c.name);
    } else if (c.name.startsWith('sparse-')) {
      const k = p.k as number;
      const ids = new Int32Array(N * k), lp = new Float32Array(N * k), tail = new Float32Array(N);
      processTeacherLogitsSparse(ids, lp, tail, logits, N, V, k, { ...opts, topP: p.topP as number, tailBucket: p.tailBucket as boolean });
      assert.deepEqual([...ids], [...c.i32('ids')], `${c.name} ids`);
      const want = c.f32('logProbs');
      for (let e = 0; e < N * k; e++) {
        if (want[e] === -Infinity) assert.equal(lp[e], -Infinity, `${c.name} padding [${e}]`);
        else assertClose([lp[e]], [want[e]], tol, `${c.name} logProbs[${e}]`);
      }
      assertClose(tail, c.f32('tail'), { atol: 1e-7, rtol: 1e-5 }, `${c.name} tail`);
    }
  }
});

test('ties rank the lower id first (row 1 has ten tied top logits at ids 10..19)', () => {
  const inp = byName(processing.cases, 'inputs');
  const N = inp.params.N as number, V = inp.params.V as number, k = 8;
  const ids = new Int32Array(N * k), lp = new Float32Array(N * k), tail = new Float32Array(N);
  processTeacherLogitsSparse(ids, lp, tail, inp.f32('logits'), N, V, k);
  // scripts/gen-distill-fixtures.py sets t[1, 10:20] = max + 1: the top 8 are ids 10..17 in id order
  assert.deepEqual([...ids.subarray(k, 2 * k)], [10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...byName(processing.cases, 'sparse-k8').i32('ids').subarray(k, 2 * k)], [10, 11, 12, 13, 14, 15, 16, 17]);
});

test('schedules: constant, linear, warmup-stable-decay (hand-computed values)', () => {
  assert.equal(scheduleValue({ kind: 'constant', value: 0.5 }, 123), 0.5);
  const lin = { kind: 'linear', start: 1, end: 0, steps: 100 } as const;
  assert.deepEqual([0, 25, 100, 500].map((s) => scheduleValue(lin, s)), [1, 0.75, 0, 0]);
  const wsd = { kind: 'wsd', initial: 0, peak: 1, final: 0.2, warmupSteps: 10, stableSteps: 20, decaySteps: 40 } as const;
  // warmup 0..10, stable 10..30, decay 30..70 to 0.2
  assert.deepEqual([0, 5, 10, 29, 30, 50, 70, 1000].map((s) => scheduleValue(wsd, s)), [0, 0.5, 1, 1, 1, 0.6, 0.2, 0.2]);
  assert.throws(() => scheduleValue(lin, -1), DistillError);
});

test('arguments that cannot be right throw a typed error naming the field', () => {
  const s = new Float32Array(10), rows = new Float32Array(2), g = new Float32Array(10);
  const sp = (ids: number[], lp: number[], tail: number[], tailMode: TailMode = 'bucket') =>
    ({ ids: Int32Array.from(ids), logProbs: Float32Array.from(lp), tail: Float32Array.from(tail), k: 1, tailMode });
  assert.throws(() => kdSparseForwardBackward(g, rows, s, sp([7, 0], [0, 0], [0, 0]), null, 2, 5, { divergence: { kind: 'forward-kl' }, ignoreIndex: IGNORE }), /teacher.ids\[0,0\] = 7/);
  assert.throws(() => kdSparseForwardBackward(g, rows, s, sp([1, 0], [-1, 0], [0, 0]), null, 2, 5, { divergence: { kind: 'forward-kl' }, ignoreIndex: IGNORE }), /not 1/);
  assert.throws(() => kdSparseForwardBackward(g, rows, s, sp([1, 0], [0, 0], [0, 0]), null, 2, 5, { divergence: { kind: 'mse' }, ignoreIndex: IGNORE }), /dense teacher logits only/);
  assert.throws(() => kdDenseForwardBackward(g, rows, s, s, 'logits', null, 2, 5, { divergence: { kind: 'jsd', beta: 1.5 }, ignoreIndex: IGNORE }), /divergence.beta/);
  assert.throws(() => kdDenseForwardBackward(g, rows, s, s, 'logits', null, 2, 5, { divergence: { kind: 'tvd' }, ignoreIndex: IGNORE, temperature: 0 }), /temperature/);
  assert.throws(() => hardCe(g, rows, s, Int32Array.from([5, 0]), 2, 5), /targets\[0\] = 5/);
  assert.throws(() => kdDenseForwardBackward(g, rows, s, s.subarray(0, 9), 'logits', null, 2, 5, { divergence: { kind: 'tvd' }, ignoreIndex: IGNORE }), /'teacher' has 9/);
  assert.throws(() => processTeacherLogitsDense(new Float32Array(10), s, 2, 5, { topP: 0.5 }), /use processTeacherLogitsSparse/);
});

test('scaleT2 off divides loss and gradient by T² (T = 2)', () => {
  for (const kind of ['forward-kl', 'jsd-b0.5', 'mse']) {
    const on = runDense(byName(losses.cases, `${kind}-T2-V257`), 64), off = runDense(byName(losses.cases, `${kind}-T2-V257-noT2`), 64);
    assertClose([off.loss], [on.loss / 4], { atol: 1e-12, rtol: 1e-12 }, `${kind} loss`);
    assertClose(off.grad, on.grad.map((v) => v / 4), { atol: 1e-12, rtol: 1e-6 }, `${kind} grad`);
  }
});

test('sparse all-masked batch: loss 0, gradient 0, no NaN, in every tail mode', () => {
  const inp = byName(sparse.cases, 'inputs-V257-bucket');
  const N = inp.params.N as number, V = inp.params.V as number, k = inp.params.k as number;
  for (const tailMode of ['ignore', 'bucket', 'uniform'] as const) {
    const grad = new Float32Array(N * V).fill(Number.NaN), rows = new Float32Array(N).fill(Number.NaN);
    const r = kdSparseForwardBackward(grad, rows, inp.f32('student'), { ids: inp.i32('ids'), logProbs: inp.f32('logProbs'), tail: inp.f32('tail'), k, tailMode },
      new Int32Array(N).fill(IGNORE), N, V, { divergence: { kind: 'jsd', beta: 0.5 }, temperature: 2, ignoreIndex: IGNORE });
    assert.deepEqual(r, { loss: 0, count: 0 });
    for (const v of grad) assert.equal(v, 0);
    for (const v of rows) assert.equal(v, 0);
  }
});
