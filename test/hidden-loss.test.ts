// Parity of the hidden-state distillation loss (src/distill/hidden-loss.ts) with PyTorch on every
// backend: cosine (1 − F.cosine_similarity) and MSE (F.mse_loss), with a learned projection
// (Cs ≠ Ct) or none (Cs = Ct), masked rows left out: the loss, the gradient of the student state
// (accumulated) and of the projection. Expected values: test/fixtures/distill/hidden.{json,bin}
// from `/usr/bin/python3 scripts/gen-hidden-loss-fixtures.py`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends } from '../src/engine/select.js';
import { createHiddenLossScratch, hiddenLossForwardBackward, type HiddenLossKind } from '../src/distill/index.js';
import { assertClose, loadFixture } from './helpers/fixtures.js';

// f32 inputs, f64 reference: the rmsnorm normalisation and the row sums leave ~1e-7 relative;
// measured worst over the 12 cases: loss 6e-8, gradients 2e-7 of the largest |g|.
const TOL = { atol: 1e-6, rtol: 1e-5 };
const fixture = loadFixture('distill/hidden');

for (const be of availableBackends()) {
  for (const c of fixture.cases) {
    test(`${be.name}: hidden loss ${c.name} = PyTorch (loss, dStudent, dWeight)`, () => {
      const N = c.params.N as number, Cs = c.params.Cs as number, Ct = c.params.Ct as number;
      const proj = c.has('weight');
      const dStudent = new Float32Array(N * Cs).fill(0.25); // accumulates: starts non-zero
      const dWeight = proj ? new Float32Array(Ct * Cs) : null;
      const r = hiddenLossForwardBackward(be, {
        kind: c.params.kind as HiddenLossKind, student: c.f32('student'), dStudent, teacher: c.f32('teacher'),
        weight: proj ? c.f32('weight') : null, dWeight, targets: c.i32('targets'), ignoreIndex: c.params.ignoreIndex as number,
        N, Cs, Ct, gradScale: c.params.gradScale as number,
      }, createHiddenLossScratch(N + 3, Ct));
      assertClose([r.loss], c.f32('loss'), TOL, `${c.name} loss`);
      assert.equal(r.count, c.i32('targets').filter((t) => t !== c.params.ignoreIndex).length);
      assertClose(dStudent.map((g) => g - 0.25), c.f32('dStudent'), TOL, `${c.name} dStudent`);
      if (dWeight) assertClose(dWeight, c.f32('dWeight'), TOL, `${c.name} dWeight`);
    });
  }
  test(`${be.name}: hidden loss with every row masked is 0 and writes nothing; bad sizes are refused`, () => {
    const N = 3, C = 4;
    const d = new Float32Array(N * C);
    const r = hiddenLossForwardBackward(be, {
      kind: 'cosine', student: new Float32Array(N * C).fill(1), dStudent: d, teacher: new Float32Array(N * C).fill(2), weight: null, dWeight: null,
      targets: new Int32Array(N).fill(-1), ignoreIndex: -1, N, Cs: C, Ct: C, gradScale: 1,
    }, createHiddenLossScratch(N, C));
    assert.deepEqual(r, { loss: 0, count: 0 });
    assert.ok(d.every((v) => v === 0));
    assert.throws(() => hiddenLossForwardBackward(be, {
      kind: 'mse', student: new Float32Array(N * 3), dStudent: null, teacher: new Float32Array(N * C), weight: null, dWeight: null,
      targets: null, ignoreIndex: -1, N, Cs: 3, Ct: C, gradScale: 1,
    }, createHiddenLossScratch(N, C)), /student width 3 differs from the teacher's 4; a projection/);
  });
}
