// The engine's sampleRows op on every backend: the picks follow the distribution they promise
// (softmax at the temperature over the top-k, then the top-p prefix), checked on a grid of uniform
// draws against float64 probabilities computed here; native and ref pick the same ids for the same
// draws; greedy ties go to the lower index; bad arguments are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, selectBackend } from '../src/engine/select.js';
import { Rng } from '../src/engine/rng.js';

const rng = new Rng(77);
const randLogits = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => scale * (rng.nextFloat() * 2 - 1));

/** Probabilities of each id under the settings, in float64: the specification. */
function expected(row: Float32Array, T: number, k: number, p: number): Float64Array {
  const V = row.length;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => (row[b] - row[a]) || (a - b));
  let n = k > 0 && k < V ? k : V;
  const max = row[order[0]];
  const e = order.slice(0, n).map((i) => Math.exp((row[i] - max) / T));
  let sum = e.reduce((a, b) => a + b, 0);
  if (p < 1) {
    let cum = 0, keep = 0;
    while (keep < n) { cum += e[keep] / sum; keep++; if (cum >= p) break; }
    n = keep;
    sum = e.slice(0, n).reduce((a, b) => a + b, 0);
  }
  const out = new Float64Array(V);
  for (let j = 0; j < n; j++) out[order[j]] = e[j] / sum;
  return out;
}

const SETTINGS: [T: number, k: number, p: number][] = [[0.7, 0, 1], [1.3, 10, 1], [1, 0, 0.9], [0.8, 20, 0.8], [2, 1, 1]];

for (const be of availableBackends()) {
  test(`${be.name}: picks on a grid of draws follow softmax/top-k/top-p to within one grid step`, () => {
    const V = 50, M = 20000;
    const row = randLogits(V, 3);
    const logits = new Float32Array(M * V);
    for (let j = 0; j < M; j++) logits.set(row, j * V);
    const u = Float64Array.from({ length: M }, (_, j) => (j + 0.5) / M);
    const out = new Int32Array(M);
    for (const [T, k, p] of SETTINGS) {
      be.sampleRows(out, logits, M, V, T, k, p, u);
      const want = expected(row, T, k, p);
      const count = new Float64Array(V);
      for (const id of out) count[id]++;
      for (let i = 0; i < V; i++) assert.ok(Math.abs(count[i] / M - want[i]) <= 1.5 / M, `T ${T} k ${k} p ${p}: id ${i} picked ${count[i] / M}, probability ${want[i]}`);
    }
  });
}

test('native and ref pick the same ids for the same draws; greedy takes the first maximum', (t) => {
  const bes = availableBackends();
  if (bes.length < 2) { t.skip('only one backend built'); return; }
  const [a, b] = [selectBackend('ref'), selectBackend('native')];
  const N = 64, V = 512;
  const logits = randLogits(N * V, 6);
  const u = Float64Array.from({ length: N }, () => rng.nextFloat());
  for (const [T, k, p] of [...SETTINGS, [1, 0, 1] as [number, number, number], [0, 0, 1] as [number, number, number]]) {
    const x = new Int32Array(N), y = new Int32Array(N);
    a.sampleRows(x, logits, N, V, T, k, p, u);
    b.sampleRows(y, logits, N, V, T, k, p, u);
    assert.deepEqual(y, x, `T ${T} k ${k} p ${p}`);
  }
  const tie = Float32Array.from([1, 5, 2, 5, 5]);
  for (const be of bes) {
    const o = new Int32Array(1);
    be.sampleRows(o, tie, 1, 5, 0, 0, 1, new Float64Array(1));
    assert.equal(o[0], 1, be.name);
    assert.throws(() => be.sampleRows(o, tie, 1, 5, 1, 0, 0, new Float64Array(1)), /sampleRows: topP must be in \(0, 1\], got 0/);
    assert.throws(() => be.sampleRows(o, tie, 2, 5, 1, 0, 1, new Float64Array(2)), /sampleRows: argument 'out' has 1|'out'.*1.*2|out/);
  }
});
