// The KD op (Backend.kdForwardBackward) of every backend against the reference kernels it is
// specified by (src/engine/ref/kd-dense.ts, kd-sparse.ts; those are pinned to PyTorch by
// test/distill-losses.test.ts): every divergence, dense logits / log-probs / sparse rows in each
// tail mode, T ∈ {1, 2}, masked rows, no targets, forward only, the accumulate rule, the
// all-masked case and the errors. Native's lower ISAs run the same cases in child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { availableBackends } from '../src/engine/select.js';
import { createRefBackend } from '../src/engine/ref/index.js';
import type { Backend, KdArgs, KdTeacher } from '../src/engine/backend.js';
import { DIVERGENCES, type Divergence } from '../src/engine/loss-kinds.js';
import { processTeacherLogitsDense, processTeacherLogitsSparse } from '../src/distill/index.js';
import { Rng } from '../src/engine/rng.js';
import { closeScaled as close } from './helpers/close.js';
import { runInIsaChild } from './helpers/isa-child.js';

const ref = createRefBackend();
const IGNORE = -1;
/** Per element |got − want| <= atol + rtol·|want|, atol scaled by the largest |want| for gradients
 *  (as test/head-loss.test.ts's native bounds: f32 exp/log and f32 row sums folded into f64;
 *  largest seen 2026-11 AVX-512: 4e-7 row losses, 2e-6 of the largest gradient). */
const TOL = { loss: 1e-5, grad: 5e-5 };

const N = 23, V = 257;
const rng = new Rng(3);
const student = Float32Array.from({ length: N * V }, () => rng.nextNormal() * 2);
const tLogits = Float32Array.from({ length: N * V }, () => rng.nextNormal() * 2);
const targets = Int32Array.from({ length: N }, (_, i) => (i % 7 === 3 ? IGNORE : rng.nextInt(V)));

type Form = 'logits' | 'logprobs' | 'sparse-ignore' | 'sparse-bucket' | 'sparse-uniform';
const FORMS: Form[] = ['logits', 'logprobs', 'sparse-ignore', 'sparse-bucket', 'sparse-uniform'];

function teacherOf(form: Form, T: number): KdTeacher {
  if (form === 'logits') return { kind: 'logits', logits: tLogits };
  if (form === 'logprobs') {
    const lp = new Float32Array(N * V);
    processTeacherLogitsDense(lp, tLogits, N, V, { temperature: T, labelSmoothing: 0.05 });
    return { kind: 'logprobs', logProbs: lp };
  }
  const tailMode = form === 'sparse-ignore' ? 'ignore' : form === 'sparse-bucket' ? 'bucket' : 'uniform';
  const k = 9, ids = new Int32Array(N * k), logProbs = new Float32Array(N * k), tail = new Float32Array(N);
  processTeacherLogitsSparse(ids, logProbs, tail, tLogits, N, V, k, { temperature: T, topP: 0.7, tailBucket: tailMode !== 'ignore' });
  return { kind: 'sparse', ids, logProbs, tail, k, tailMode };
}

const divergences: Divergence[] = DIVERGENCES.map((d) => (d.param ? { kind: d.name, [d.param.key]: 0.3 } : { kind: d.name }) as Divergence);
divergences.push({ kind: 'jsd', beta: 0 }, { kind: 'jsd', beta: 1 });

function run(be: Backend, a: Omit<KdArgs, 'dStudent' | 'rowLosses' | 'accumulate'>, grad: 'none' | 'overwrite' | 'accumulate') {
  const dStudent = grad === 'none' ? null : Float32Array.from({ length: N * V }, (_, i) => (grad === 'accumulate' ? ((i % 11) - 5) * 1e-3 : NaN));
  const rowLosses = new Float32Array(N).fill(NaN);
  const r = be.kdForwardBackward({ ...a, dStudent, rowLosses, accumulate: grad === 'accumulate' });
  return { r, rowLosses, dStudent };
}

function compare(be: Backend, a: Omit<KdArgs, 'dStudent' | 'rowLosses' | 'accumulate'>, label: string): void {
  for (const grad of ['overwrite', 'accumulate', 'none'] as const) {
    const want = run(ref, a, grad), got = run(be, a, grad);
    assert.equal(got.r.count, want.r.count, `${label} ${grad} count`);
    close(`${label} ${grad} loss`, [got.r.loss], [want.r.loss], TOL.loss, false);
    close(`${label} ${grad} rowLosses`, got.rowLosses, want.rowLosses, TOL.loss, false);
    if (want.dStudent) close(`${label} ${grad} dStudent`, got.dStudent!, want.dStudent, TOL.grad, true);
  }
}

const CHILD = process.env.DISTILL_KD_CHILD === '1';
const backends = availableBackends().filter((b) => b.name !== 'ref');

for (const be of backends) {
  for (const d of divergences) {
    const name = JSON.stringify(d);
    test(`${be.name} kdForwardBackward ${name} = ref: every teacher form, T ∈ {1, 2}, masked rows`, () => {
      for (const form of d.kind === 'mse' ? ['logits', 'logprobs'] as Form[] : FORMS) {
        for (const T of [1, 2]) {
          const a = { student, teacher: teacherOf(form, T), targets, N, V, divergence: d, temperature: T, scaleT2: T === 2, ignoreIndex: IGNORE, gradScale: 0.7 };
          compare(be, a, `${name} ${form} T=${T}`);
        }
      }
    });
  }

  test(`${be.name} kdForwardBackward with no targets (no row masked) and every row masked`, () => {
    for (const form of ['logits', 'sparse-bucket'] as Form[]) {
      compare(be, { student, teacher: teacherOf(form, 1), targets: null, N, V, divergence: { kind: 'forward-kl' }, temperature: 1, scaleT2: false, ignoreIndex: IGNORE, gradScale: 1 }, `${form} no targets`);
      const masked = new Int32Array(N).fill(IGNORE);
      const r = run(be, { student, teacher: teacherOf(form, 1), targets: masked, N, V, divergence: { kind: 'reverse-kl' }, temperature: 2, scaleT2: true, ignoreIndex: IGNORE, gradScale: 1 }, 'overwrite');
      assert.deepEqual(r.r, { loss: 0, count: 0 });
      assert.ok(r.rowLosses.every((v) => v === 0) && r.dStudent!.every((v) => v === 0));
    }
  });

  test(`${be.name} kdForwardBackward refuses malformed sparse rows and mse on sparse rows`, () => {
    const t = teacherOf('sparse-bucket', 1) as Extract<KdTeacher, { kind: 'sparse' }>;
    const base = { dStudent: null, rowLosses: new Float32Array(N), student, targets, N, V, divergence: { kind: 'forward-kl' } as Divergence, temperature: 1, scaleT2: false, ignoreIndex: IGNORE, gradScale: 1, accumulate: false };
    const ids = new Int32Array(t.ids); ids[1] = ids[0];
    assert.throws(() => be.kdForwardBackward({ ...base, teacher: { ...t, ids } }), /repeats id/);
    const tail = new Float32Array(t.tail); tail[0] += 0.1;
    assert.throws(() => be.kdForwardBackward({ ...base, teacher: { ...t, tail } }), /not 1/);
    assert.throws(() => be.kdForwardBackward({ ...base, teacher: t, divergence: { kind: 'mse' } }), /dense teacher logits only/);
  });
}

for (const isa of ['avx2', 'scalar']) {
  test(`native kdForwardBackward cases pass with DISTILL_ISA=${isa} (child process)`, { skip: CHILD || backends.length === 0 ? 'native addon not built, or already a child' : false }, () => {
    const r = runInIsaChild(fileURLToPath(import.meta.url), isa, 'DISTILL_KD_CHILD');
    assert.equal(r.status, 0, `child with DISTILL_ISA=${isa} failed:\n${r.output}`);
    assert.match(r.stdout, new RegExp(`# pass ${divergences.length + 2}\\n`));
  });
}
