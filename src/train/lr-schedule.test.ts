// Learning-rate schedule values at the boundaries (hand-computed from the formulas in
// lr-schedule.ts: warmup (s+1)/W, cosine floor + (peak-floor)(1+cos(pi p))/2, wsd linear tail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate } from './lr-schedule.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('cosine: warmup ramp, peak after warmup, floor at the last step, midpoint halfway', () => {
  const s = { kind: 'cosine' as const, warmup: 30, minRatio: 0.1 };
  close(learningRate(s, 5e-3, 0, 200), 5e-3 / 30);
  close(learningRate(s, 5e-3, 29, 200), 5e-3);
  close(learningRate(s, 5e-3, 30, 200), 5e-3);
  close(learningRate(s, 5e-3, 199, 200), 5e-4);
  // progress 0.5 at step 30 + 84.5: use total 201 so (step-30)/(170) = 0.5 at step 115
  close(learningRate(s, 1, 115, 201), 0.1 + 0.5 * 0.9);
});

test('wsd: held at peak, then linear to the floor over the last fraction', () => {
  const s = { kind: 'wsd' as const, warmup: 0, decayFraction: 0.2, minRatio: 0 };
  close(learningRate(s, 1, 0, 100), 1);
  close(learningRate(s, 1, 79, 100), 1);
  close(learningRate(s, 1, 80, 100), 1 - 1 / 20);
  close(learningRate(s, 1, 99, 100), 0);
});

test('constant: only the warmup changes it', () => {
  const s = { kind: 'constant' as const, warmup: 4 };
  close(learningRate(s, 2, 1, 10), 1);
  close(learningRate(s, 2, 9, 10), 2);
});
