// The cross-tokenizer KD term (src/distill/cross-tokenizer-loss.ts: exact-map, span with GOLD's
// merged target and ULD fallback, ULD) against PyTorch, forward and gradient, on every backend
// (ref always, native when built): teacher rows over another vocabulary (K = 16 > V = 12 and
// K = 9 < V), a masked row, a merged span whose mass exceeds 1 (renormalised).
// Expected values: test/fixtures/distill/cross-tokenizer.json/.bin from
// `/usr/bin/python3 scripts/gen-cross-tokenizer-fixtures.py`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, loadFixture, type Tolerance } from './helpers/fixtures.js';
import { availableBackends } from '../src/engine/select.js';
import {
  createCrossRows, crossTokenizerKdForwardBackward, fillCrossRows, type CrossTokenizerMethod,
} from '../src/distill/cross-tokenizer-loss.js';

const IGNORE = -1; // the fixture's masked target (scripts/gen-cross-tokenizer-fixtures.py IGNORE)
// Both sides compute in float64 from the same float32 inputs; the sparse rows and the backends'
// row walks store float32 (native sums in f32): 1e-5 relative leaves room for that and no more.
const TOL: Tolerance = { atol: 1e-6, rtol: 1e-5 };

/** Teacher log-probs at temperature T, row by row (float64, stored float32). */
function logSoftmaxRows(t: Float32Array, M: number, K: number, T: number): Float32Array {
  const out = new Float32Array(M * K);
  for (let r = 0; r < M; r++) {
    let mx = -Infinity, s = 0;
    for (let v = 0; v < K; v++) mx = Math.max(mx, t[r * K + v] / T);
    for (let v = 0; v < K; v++) s += Math.exp(t[r * K + v] / T - mx);
    for (let v = 0; v < K; v++) out[r * K + v] = t[r * K + v] / T - mx - Math.log(s);
  }
  return out;
}

const fx = loadFixture('distill/cross-tokenizer');
for (const be of availableBackends()) {
  for (const c of fx.cases) {
    test(`${be.name} cross-tokenizer KD ${c.name} matches PyTorch (loss, rows, gradient)`, () => {
      const { N, V, M, K, T, uldWeight } = c.params as Record<string, number>;
      const method = c.params.method as CrossTokenizerMethod;
      const map = c.i32('map'), targets = c.i32('targets');
      let mapped = 0;
      for (const m of map) if (m >= 0) mapped++;
      const rows = createCrossRows(N, V, K, mapped);
      fillCrossRows(rows, logSoftmaxRows(c.f32('teacher'), M, K, T), M,
        { aligned: c.i32('aligned'), prefix: c.i32('prefix'), spanEnd: c.i32('spanEnd'), teacherNext: c.i32('teacherNext') }, map, targets, method, IGNORE);
      const grad = new Float32Array(N * V), rowKd = new Float32Array(N);
      const loss = crossTokenizerKdForwardBackward(be, grad, rowKd, c.f32('student'), rows, targets, N, V, {
        divergence: { kind: 'forward-kl' }, temperature: T, scaleT2: true, ignoreIndex: IGNORE, tailMode: 'bucket', uldWeight, gradScale: 1,
      });
      assertClose([loss], c.f32('loss'), TOL, `${c.name} loss`);
      assertClose(rowKd, c.f32('rowKd'), TOL, `${c.name} rows`);
      let gmax = 0;
      for (const g of c.f32('grad')) gmax = Math.max(gmax, Math.abs(g));
      assertClose(grad, c.f32('grad'), { atol: 1e-5 * gmax, rtol: 1e-5 }, `${c.name} gradient`);
      // The forward alone gives the same loss.
      assert.equal(crossTokenizerKdForwardBackward(be, null, new Float32Array(N), c.f32('student'), rows, targets, N, V, {
        divergence: { kind: 'forward-kl' }, temperature: T, scaleT2: true, ignoreIndex: IGNORE, tailMode: 'bucket', uldWeight, gradScale: 1,
      }), loss);
    });
  }
  test(`${be.name} cross-tokenizer KD: every row masked gives 0 and no gradient`, () => {
    const rows = createCrossRows(2, 3, 4, 1);
    const grad = new Float32Array(6);
    const loss = crossTokenizerKdForwardBackward(be, grad, new Float32Array(2), new Float32Array(6), rows, Int32Array.of(IGNORE, IGNORE), 2, 3, {
      divergence: { kind: 'forward-kl' }, temperature: 1, scaleT2: true, ignoreIndex: IGNORE, tailMode: 'bucket', uldWeight: 1, gradScale: 1,
    });
    assert.equal(loss, 0);
    assert.deepEqual([...grad], [0, 0, 0, 0, 0, 0]);
  });
}
