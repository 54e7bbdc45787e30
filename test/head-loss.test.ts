// The fused output head + loss (Backend.headLossForwardBackward) against the unfused reference
// composed by hand — ref GEMM for the logits, src/distill's distillLossForwardBackward (the ref
// backend's CE and KD ops) over the whole (N,V), ref GEMMs for dHidden and dWeight — on every
// available backend: every divergence,
// T != 1, α in {0, 0.5, 1}, dense / log-prob / hidden (padded head) / sparse (3 tail modes)
// teachers, odd V, N not a multiple of the chunk, ignored rows, the all-masked case, and errors.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { availableBackends, selectBackend } from '../src/engine/select.js';
import { createRefBackend } from '../src/engine/ref/index.js';
import type { Backend, HeadLossDivergence, HeadLossOptions, HeadLossTeacher } from '../src/engine/backend.js';
import { distillLossForwardBackward, processTeacherLogitsDense, processTeacherLogitsSparse, type TeacherRows } from '../src/distill/index.js';
import { Rng } from '../src/engine/rng.js';
import { createActivations, createModel, grad, initParams, lossAndGrad, param, type ModelConfig } from '../src/model/index.js';
import { forwardToHidden, headParamName } from '../src/model/forward.js';
import { backwardFromHidden } from '../src/model/backward.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { MicroStep, type MicroStepLoss } from '../src/train/micro-step.js';
import { closeScaled as close } from './helpers/close.js';

const ref = createRefBackend();
const IGNORE = -100;

/** Tolerances, |got − want| <= atol + rtol·|want| (per element), with atol scaled by the largest
 *  |want| of the array for gradients (they cross zero). ref fused vs unfused differ only in the
 *  order of f64 sums, f32 row values summed, and one f32 rescale per chunk; native computes
 *  exp/log in f32 (≈2 ulp), sums rows of V ≤ 1000 terms in f32 lanes folded into f64, then three
 *  f32 GEMMs. Largest errors seen over this file's cases (2026-11-23, AVX-512): ref 9e-9 loss,
 *  9e-8 grads; native 1.3e-6 rowKd, 5.6e-6 dHidden, 7e-7 dWeight: the bounds keep ~8x headroom. */
const TOL = {
  ref: { loss: 1e-7, grad: 1e-6 },
  native: { loss: 1e-5, grad: 5e-5 },
};

interface Problem {
  N: number; V: number; C: number; Ct: number; Vt: number;
  hidden: Float32Array; weight: Float32Array; targets: Int32Array;
  tHidden: Float32Array; tWeight: Float32Array; tLogits: Float32Array;
}

function randn(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.nextNormal() * scale;
  return a;
}

/** A seeded problem; rows listed in `ignored` (or every row when 'all') get target IGNORE. The
 *  teacher head is padded (Vt = V + 3 rows; only the first V are used). */
function problem(seed: number, N: number, V: number, ignored: number[] | 'all' = [3, 17]): Problem {
  const rng = new Rng(seed);
  const C = 24, Ct = 20, Vt = V + 3;
  const hidden = randn(rng, N * C, 1), weight = randn(rng, V * C, 0.4);
  const tHidden = randn(rng, N * Ct, 1), tWeight = randn(rng, Vt * Ct, 0.5);
  const targets = new Int32Array(N);
  for (let i = 0; i < N; i++) targets[i] = rng.nextInt(V);
  for (let i = 0; i < N; i++) if (ignored === 'all' || ignored.includes(i)) targets[i] = IGNORE;
  const tLogits = new Float32Array(N * V);
  ref.gemm(tLogits, tHidden, tWeight, N, V, Ct, false, true, 1, 0);
  return { N, V, C, Ct, Vt, hidden, weight, targets, tHidden, tWeight, tLogits };
}

type TeacherForm = 'none' | 'logits' | 'logprobs' | 'hidden' | 'sparse-ignore' | 'sparse-bucket' | 'sparse-uniform';

/** The fused op's teacher and the unfused reference's TeacherRows (null: hard labels only). */
function teacherOf(p: Problem, form: TeacherForm, T: number): { fused: HeadLossTeacher; rows: TeacherRows | null } {
  const { N, V } = p;
  switch (form) {
    case 'none': return { fused: { kind: 'none' }, rows: null };
    case 'logits': return { fused: { kind: 'logits', logits: p.tLogits }, rows: { kind: 'logits', logits: p.tLogits } };
    case 'hidden': return { fused: { kind: 'hidden', hidden: p.tHidden, weight: p.tWeight, C: p.Ct }, rows: { kind: 'logits', logits: p.tLogits } };
    case 'logprobs': {
      const lp = new Float32Array(N * V);
      processTeacherLogitsDense(lp, p.tLogits, N, V, { temperature: T, labelSmoothing: 0.1, clip: 4 });
      return { fused: { kind: 'logprobs', logProbs: lp }, rows: { kind: 'logprobs', logProbs: lp } };
    }
    default: {
      const tailMode = form === 'sparse-ignore' ? 'ignore' : form === 'sparse-bucket' ? 'bucket' : 'uniform';
      const k = 7;
      const ids = new Int32Array(N * k), logProbs = new Float32Array(N * k), tail = new Float32Array(N);
      // top-p 0.6 leaves some rows with fewer than k ids (slots -1): both paths must skip them.
      processTeacherLogitsSparse(ids, logProbs, tail, p.tLogits, N, V, k, { temperature: T, topP: 0.6, tailBucket: tailMode !== 'ignore' });
      const s = { ids, logProbs, tail, k, tailMode } as const;
      return { fused: { kind: 'sparse', ...s }, rows: { kind: 'sparse', ...s } };
    }
  }
}

interface Out { rowCe: Float32Array; rowKd: Float32Array; dHidden: Float32Array; dWeight: Float32Array; ce: number; kd: number; loss: number; count: number }

/** dWeight starts from a fixed non-zero buffer so the accumulate rule is checked too. */
function dWeight0(p: Problem): Float32Array {
  const d = new Float32Array(p.V * p.C);
  for (let i = 0; i < d.length; i++) d[i] = ((i % 13) - 6) * 1e-3;
  return d;
}

function unfused(p: Problem, rows: TeacherRows | null, o: HeadLossOptions): Out {
  const { N, V, C } = p;
  const logits = new Float32Array(N * V), dLog = new Float32Array(N * V);
  ref.gemm(logits, p.hidden, p.weight, N, V, C, false, true, 1, 0);
  const rowCe = new Float32Array(N), rowKd = new Float32Array(N);
  const r = distillLossForwardBackward(ref, dLog, rowCe, rowKd, logits, rows ?? { kind: 'none' }, p.targets, N, V,
    { alpha: o.alpha, divergence: o.divergence, temperature: o.temperature, scaleT2: o.scaleT2, ignoreIndex: o.ignoreIndex });
  for (let i = 0; i < dLog.length; i++) dLog[i] *= o.gradScale;
  const dHidden = new Float32Array(N * C), dWeight = dWeight0(p);
  ref.gemm(dHidden, dLog, p.weight, N, C, V, false, false, 1, 0);
  ref.gemm(dWeight, dLog, p.hidden, V, C, N, true, false, 1, 1);
  return { rowCe, rowKd, dHidden, dWeight, ...r };
}

function fused(be: Backend, p: Problem, t: HeadLossTeacher, o: HeadLossOptions): Out {
  const { N, V, C } = p;
  const rowCe = new Float32Array(N).fill(NaN), rowKd = new Float32Array(N).fill(NaN);
  const dHidden = new Float32Array(N * C).fill(NaN), dWeight = dWeight0(p);
  const r = be.headLossForwardBackward({ dHidden, dWeight, rowCe, rowKd, hidden: p.hidden, weight: p.weight, teacher: t, targets: p.targets, N, V, C, ...o });
  return { rowCe, rowKd, dHidden, dWeight, ...r };
}

function compare(be: Backend, p: Problem, form: TeacherForm, o: HeadLossOptions): void {
  const t = teacherOf(p, form, o.temperature);
  const want = unfused(p, t.rows, o), got = fused(be, p, t.fused, o);
  const tol = TOL[be.name];
  assert.equal(got.count, want.count);
  close('ce/kd/loss', [got.ce, got.kd, got.loss], [want.ce, want.kd, want.loss], tol.loss, false);
  close('rowCe', got.rowCe, want.rowCe, tol.loss, false);
  close('rowKd', got.rowKd, want.rowKd, tol.loss, false);
  close('dHidden', got.dHidden, want.dHidden, tol.grad, true);
  close('dWeight', got.dWeight, want.dWeight, tol.grad, true);
}

const DIVERGENCES: HeadLossDivergence[] = [
  { kind: 'forward-kl' }, { kind: 'reverse-kl' }, { kind: 'soft-ce' }, { kind: 'tvd' },
  { kind: 'jsd', beta: 0 }, { kind: 'jsd', beta: 0.5 }, { kind: 'jsd', beta: 1 },
  { kind: 'skew-forward-kl', lambda: 0.1 }, { kind: 'skew-reverse-kl', lambda: 0.1 },
];
const FORMS: TeacherForm[] = ['logits', 'logprobs', 'hidden', 'sparse-ignore', 'sparse-bucket', 'sparse-uniform'];
const name = (d: HeadLossDivergence) => d.kind + ('beta' in d ? `(${d.beta})` : 'lambda' in d ? `(${d.lambda})` : '');
const opts = (o: Partial<HeadLossOptions> = {}): HeadLossOptions => ({
  alpha: 0.5, divergence: { kind: 'forward-kl' }, temperature: 2, scaleT2: true, ignoreIndex: IGNORE, gradScale: 0.75, chunkRows: 16, ...o,
});

// A child run (below) checks one lower ISA of the native kernels: native cases only.
const CHILD = process.env.DISTILL_HEADLOSS_CHILD === '1';
const backends = availableBackends().filter((b) => !CHILD || b.name === 'native');

for (const be of backends) {
  const P257 = problem(1, 37, 257); // 37 rows in chunks of 16: two full chunks and one of 5

  for (const d of DIVERGENCES) {
    test(`${be.name} headLoss ${name(d)}: every teacher form, T=2, α=0.5, V=257, N=37 in chunks of 16`, () => {
      for (const form of FORMS) compare(be, P257, form, opts({ divergence: d }));
    });
  }

  test(`${be.name} headLoss α ∈ {0, 1}, T = 1, scaleT2 off, V = 1000`, () => {
    const p = problem(2, 21, 1000, [0, 20]);
    for (const alpha of [0, 1]) {
      for (const d of [{ kind: 'forward-kl' }, { kind: 'jsd', beta: 0.3 }, { kind: 'skew-reverse-kl', lambda: 0.5 }] as HeadLossDivergence[]) {
        for (const form of ['logits', 'hidden', 'sparse-bucket', 'sparse-uniform'] as TeacherForm[]) {
          compare(be, p, form, opts({ alpha, divergence: d, temperature: 1, scaleT2: false, chunkRows: 8 }));
        }
      }
    }
  });

  test(`${be.name} headLoss hard labels only (teacher none), default chunk size`, () => {
    for (const alpha of [1, 0.5]) compare(be, P257, 'none', opts({ alpha, chunkRows: undefined }));
  });

  test(`${be.name} headLoss every row masked: losses 0, dHidden 0, dWeight untouched`, () => {
    const p = problem(3, 19, 257, 'all');
    for (const form of ['hidden', 'sparse-bucket', 'none'] as TeacherForm[]) {
      const t = teacherOf(p, form, 2);
      const got = fused(be, p, t.fused, opts());
      assert.deepEqual([got.loss, got.ce, got.kd, got.count], [0, 0, 0, 0]);
      assert.ok(got.rowCe.every((v) => v === 0) && got.rowKd.every((v) => v === 0));
      assert.ok(got.dHidden.every((v) => v === 0));
      assert.deepEqual(got.dWeight, dWeight0(p));
    }
  });

  test(`${be.name} headLoss rejects bad targets and malformed sparse rows`, () => {
    const p = problem(4, 5, 257, []);
    const o = opts();
    const bad = new Int32Array(p.targets); bad[2] = 257;
    const call = (teacher: HeadLossTeacher, targets: Int32Array) => be.headLossForwardBackward({ dHidden: new Float32Array(5 * 24),
      dWeight: dWeight0(p), rowCe: new Float32Array(5), rowKd: new Float32Array(5), hidden: p.hidden, weight: p.weight, teacher, targets, N: 5, V: 257, C: 24, ...o });
    assert.throws(() => call({ kind: 'none' }, bad), /targets\[2\] = 257/);
    const t = teacherOf(p, 'sparse-bucket', 2).fused as Extract<HeadLossTeacher, { kind: 'sparse' }>;
    const ids = new Int32Array(t.ids); ids[1] = ids[0];
    assert.throws(() => call({ ...t, ids }, p.targets), /repeats id/);
    const tail = new Float32Array(t.tail); tail[3] += 0.1;
    assert.throws(() => call({ ...t, tail }, p.targets), /not 1/);
  });
}

// The model's fused entry points: forwardToHidden + headLossForwardBackward (hard labels) +
// backwardFromHidden give lossAndGrad's loss and every parameter gradient (the head's included).
for (const be of backends) {
  for (const [family, tied] of [['llama', true], ['llama', false], ['gpt2', true]] as const) {
    test(`${be.name} forwardToHidden + headLoss + backwardFromHidden = lossAndGrad (${family}, tied=${tied})`, () => {
      const config: ModelConfig = { family, dim: 16, nLayers: 2, nHeads: 2, nKvHeads: family === 'gpt2' ? 2 : 1, hiddenDim: 32,
        vocabSize: 67, maxSeqLen: 16, normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: tied, qkvBias: false };
      const B = 2, T = 9, N = B * T, rng = new Rng(11);
      const inputs = new Int32Array(N), targets = new Int32Array(N);
      for (let i = 0; i < N; i++) { inputs[i] = rng.nextInt(67); targets[i] = i === 4 ? IGNORE : rng.nextInt(67); }
      const params = initParams(config, rng);
      const a = createModel(config, new Float32Array(params)), b = createModel(config, new Float32Array(params));
      const want = lossAndGrad(be, a, createActivations(config, B, T), inputs, targets, B, T, IGNORE);
      const acts = createActivations(config, B, T, { headLogits: false });
      assert.equal(acts.logits.length, 0);
      const hf = forwardToHidden(be, b, acts, inputs, B, T);
      const dh = acts.dh.subarray(0, N * 16), name = headParamName(config);
      const got = be.headLossForwardBackward({ dHidden: dh, dWeight: grad(b, name), rowCe: new Float32Array(N), rowKd: new Float32Array(N),
        hidden: hf, weight: param(b, name), teacher: { kind: 'none' }, targets, N, V: 67, C: 16, ...opts({ alpha: 1, gradScale: 1, chunkRows: 5 }) });
      backwardFromHidden(be, b, acts, dh);
      assert.equal(got.count, want.count);
      close('loss', [got.loss], [want.loss], 1e-5, false);
      // Gradients flow through two blocks: the per-element rounding of the loss grows by a few x.
      close('grads', b.grads, a.grads, be.name === 'ref' ? 1e-5 : 1e-4, true);
    });
  }
}

// MicroStep's fused path (the training loop's) against its unfused one: a model teacher with a
// padded head (vocab 70 > the student's 67), raw (-> 'hidden' teacher), smoothed (-> log-probs)
// and top-k (-> sparse) processing, and 'mse' (not fused: both paths are the unfused one).
for (const be of backends) {
  test(`${be.name} MicroStep fused = unfused: same losses and student gradients`, async () => {
    const base = { family: 'llama', nLayers: 1, nHeads: 2, nKvHeads: 1, maxSeqLen: 16, normEps: 1e-5, ropeTheta: 10000,
      ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false } as const;
    const sc: ModelConfig = { ...base, dim: 16, hiddenDim: 32, vocabSize: 67 };
    const tc: ModelConfig = { ...base, dim: 24, hiddenDim: 40, vocabSize: 70 };
    const rng = new Rng(21), B = 2, T = 8;
    const sp = initParams(sc, rng), tp = initParams(tc, rng);
    const teacher = new ModelTeacher(be, createModel(tc, tp), B, T, 'test teacher');
    const windows = new Int32Array(B * (T + 1));
    for (let i = 0; i < windows.length; i++) windows[i] = rng.nextInt(67);
    const procs: [string, MicroStepLoss][] = [
      ['raw', { divergence: { kind: 'forward-kl' }, scaleT2: true, ignoreIndex: -1, teacher: { labelSmoothing: 0, topP: 1, tail: 'bucket' } }],
      ['smoothed', { divergence: { kind: 'jsd', beta: 0.5 }, scaleT2: true, ignoreIndex: -1, teacher: { labelSmoothing: 0.1, topP: 1, tail: 'bucket' } }],
      ['top-k', { divergence: { kind: 'reverse-kl' }, scaleT2: false, ignoreIndex: -1, teacher: { labelSmoothing: 0, topP: 1, topK: 5, tail: 'uniform' } }],
      ['mse', { divergence: { kind: 'mse' }, scaleT2: true, ignoreIndex: -1, teacher: { labelSmoothing: 0, topP: 1, tail: 'bucket' } }],
    ];
    for (const [what, loss] of procs) {
      const run = async (fusedHead: boolean) => {
        const student = createModel(sc, new Float32Array(sp));
        const ms = new MicroStep(be, student, teacher, loss, B, T, { fusedHead });
        ms.setWindows(windows);
        const r = await ms.run(0.3, 2, 0.5);
        return { r, grads: student.grads };
      };
      const want = await run(false), got = await run(true);
      close(`${what} loss/ce/kd`, [got.r.loss, got.r.ce, got.r.kd], [want.r.loss, want.r.ce, want.r.kd], 1e-5, false);
      close(`${what} grads`, got.grads, want.grads, be.name === 'ref' ? 1e-5 : 1e-4, true);
    }
  });
}

test('native headLoss: chunk size and thread count change nothing beyond rounding', { skip: availableBackends().length < 2 ? 'native addon not built' : false }, () => {
  const be = selectBackend('native');
  const p = problem(5, 40, 1000);
  const t = teacherOf(p, 'hidden', 2).fused;
  const a = fused(be, p, t, opts({ chunkRows: 40 }));
  const threads = be.threads;
  be.setThreads(1);
  try {
    const b = fused(be, p, t, opts({ chunkRows: 7 }));
    close('rowKd', b.rowKd, a.rowKd, 1e-6, false);
    close('dHidden', b.dHidden, a.dHidden, 1e-5, true);
    close('dWeight', b.dWeight, a.dWeight, 1e-5, true);
  } finally {
    be.setThreads(threads);
  }
});

// The kernels are compiled once per ISA; the in-process run above uses the CPU's best. Each lower
// ISA runs this file's native cases in a child process (DISTILL_ISA only lowers the ISA).
for (const isa of ['avx2', 'scalar']) {
  test(`native headLoss cases pass with DISTILL_ISA=${isa} (child process)`, { skip: CHILD || availableBackends().length < 2 ? 'native addon not built, or already a child' : false }, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DISTILL_ISA: isa, DISTILL_HEADLOSS_CHILD: '1' };
    delete env.NODE_TEST_CONTEXT; // else the child reports to the parent's runner, not to stdout
    const r = spawnSync(process.execPath, ['--test-reporter=tap', fileURLToPath(import.meta.url)], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `child with DISTILL_ISA=${isa} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /# pass 1[0-9]/);
  });
}
