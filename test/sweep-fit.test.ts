// The research loop's arithmetic: the Chinchilla-form fit recovers the parameters it was given
// (synthetic L(N, D) from known E, A, α, B, β over the sizes and budgets of the TinyStories sweep),
// bootstrap intervals cover the truth under noise, KD gain predictions equal the laws' difference,
// the ASHA scheduler promotes what Li et al.'s rule says, and tune's space and α schedules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/rng.js';
import { bootstrapLaws, fitScalingLaw, interval95, predictLoss, type ScalingLaw, type ScalingPoint } from '../src/sweep/scaling-fit.js';
import { fitSweep, parsePredictList } from '../src/sweep/fit-sweep.js';
import { Asha, ashaRungs } from '../src/sweep/asha.js';
import { alphaScheduleValue, configOverrides, sampleConfig, spaceFor } from '../src/sweep/tune-space.js';
import { resolveSchedule, scheduleValue } from '../src/distill/schedules.js';
import type { SweepRow } from '../src/sweep/summary.js';

// Parameters of the kind the sweep finds (E near the teacher's loss, α and β below 1); sizes and
// budgets as in recipes/tinystories/sweep/scaling.sweep.yaml.
const TRUTH: ScalingLaw = { E: 1.7, A: 40, alpha: 0.45, B: 300, beta: 0.38 };
const SIZES = [14_000, 25_000, 54_000, 126_000];
const BUDGETS = [131_072, 262_144, 524_288, 1_048_576];

function grid(law: ScalingLaw, noise: number, seed: number): ScalingPoint[] {
  const rng = new Rng(seed);
  return SIZES.flatMap((n) => BUDGETS.flatMap((d) => [0, 1].map(() => ({ n, d, loss: predictLoss(law, n, d) * Math.exp(noise * rng.nextNormal()) }))));
}

test('fitScalingLaw recovers E, A, α, B, β from noise-free points to 0.1 %', () => {
  const { law, objective } = fitScalingLaw(grid(TRUTH, 0, 1));
  assert.ok(objective < 1e-10, `objective ${objective}`);
  for (const k of ['E', 'A', 'alpha', 'B', 'beta'] as const) assert.ok(Math.abs(law[k] / TRUTH[k] - 1) < 1e-3, `${k}: ${law[k]} vs ${TRUTH[k]}`);
});

test('with 0.5 % noise the 95 % bootstrap intervals hold the true parameters', () => {
  const pts = grid(TRUTH, 0.005, 7);
  const { law } = fitScalingLaw(pts);
  const laws = bootstrapLaws(pts, law, 60, 0);
  assert.ok(laws.length >= 55, `${laws.length} resamples fitted`);
  for (const k of ['E', 'A', 'alpha', 'B', 'beta'] as const) {
    const iv = interval95(laws, (l) => l[k]);
    assert.ok(iv.lo <= TRUTH[k] && TRUTH[k] <= iv.hi, `${k}: truth ${TRUTH[k]} outside [${iv.lo}, ${iv.hi}]`);
  }
  // and the fit predicts the truth well inside the grid (interpolation): within 1 %
  assert.ok(Math.abs(predictLoss(law, 40_000, 400_000) / predictLoss(TRUTH, 40_000, 400_000) - 1) < 0.01);
});

test('fitScalingLaw refuses too few points or a single size, naming what it needs', () => {
  assert.throws(() => fitScalingLaw(grid(TRUTH, 0, 1).slice(0, 4)), /at least 5 runs over 2\+ student sizes/);
  assert.throws(() => fitScalingLaw(grid(TRUTH, 0, 1).filter((p) => p.n === 14_000)), /1 size\(s\)/);
  assert.throws(() => fitScalingLaw([...grid(TRUTH, 0, 1), { n: 0, d: 1, loss: 1 }]), /N > 0/);
});

test('fitSweep: CE and KD fitted apart; the predicted gain is the laws\' difference, out of range flagged', () => {
  const kdLaw: ScalingLaw = { ...TRUTH, A: 30, E: 1.65 };
  const rows: SweepRow[] = [
    ...grid(TRUTH, 0, 1).map((p, i) => ({ name: `ce${i}`, point: {}, seed: 1, status: 'done' as const, kind: 'baseline' as const, params: p.n, tokens: p.d, valLoss: p.loss })),
    ...grid(kdLaw, 0, 1).map((p, i) => ({ name: `kd${i}`, point: {}, seed: 1, status: 'done' as const, kind: 'kd' as const, params: p.n, tokens: p.d, valLoss: p.loss })),
  ];
  const fit = fitSweep(rows, { bootstrap: 10, predictAt: '250000x4e6' });
  const p = fit.predictions.at(-1)!;
  assert.deepEqual([p.n, p.d, p.extrapolated], [250000, 4e6, true]);
  const want = predictLoss(TRUTH, 250000, 4e6) - predictLoss(kdLaw, 250000, 4e6);
  assert.ok(Math.abs(p.gain - want) < 1e-3, `gain ${p.gain} vs ${want}`);
  assert.ok(p.gainInterval.lo <= p.gain + 1e-9 && p.gain <= p.gainInterval.hi + 1e-9);
  assert.equal(fit.predictions[0].extrapolated, false); // the largest size and budget run
  assert.deepEqual(parsePredictList('1e5x2e6, 3x4'), [[1e5, 2e6], [3, 4]]);
  assert.throws(() => parsePredictList('100k'), /SIZExTOKENS/);
});

test('ashaRungs: lengths grow by η up to the full run', () => {
  assert.deepEqual(ashaRungs(28, 256, 3), [28, 85, 256]);
  assert.deepEqual(ashaRungs(1, 9, 3), [1, 3, 9]);
  assert.deepEqual(ashaRungs(10, 10, 3), [10]);
  assert.throws(() => ashaRungs(0, 9, 3), /--min-steps/);
  assert.throws(() => ashaRungs(1, 9, 1), /--eta/);
});

test('Asha: new trials until a rung has η results, then the best of its top 1/η is promoted once', () => {
  const asha = new Asha([1, 3, 9], 3);
  const losses = [5, 3, 4, 6, 2, 7];
  const log: string[] = [];
  for (let i = 0; i < 10; i++) {
    const job = asha.nextJob();
    log.push(`${job.trial}@${job.rung}`);
    asha.report(job, job.rung === 0 ? losses[job.trial] ?? 9 : 10 - job.trial - job.rung);
  }
  // trials 0-2 at rung 0 -> trial 1 (loss 3) promoted; 3, 4, 5 new; after 6 results the top 2 are
  // trials 4 (2) and 1 (3, already promoted) -> 4 promoted; rung 1 then has 2 results (< η): new trial 6...
  assert.deepEqual(log, ['0@0', '1@0', '2@0', '1@1', '3@0', '4@0', '4@1', '5@0', '6@0', '7@0']);
  assert.deepEqual(asha.best(), { trial: 4, rung: 1, loss: 5 });
  const failing = new Asha([1, 3], 2);
  for (let i = 0; i < 2; i++) failing.report(failing.nextJob(), NaN);
  assert.equal(failing.nextJob().promotion, false); // a failed trial is never promoted
  assert.equal(failing.best(), undefined);
});

test('tune space: defaults, sampling within range, α schedules as recipe values', () => {
  const space = spaceFor(['T', 'alpha', 'alphaSchedule']);
  assert.deepEqual(Object.keys(space), ['loss.temperature', 'loss.alpha', 'alphaSchedule']);
  const rng = new Rng(3);
  for (let i = 0; i < 50; i++) {
    const c = sampleConfig(space, rng);
    assert.ok((c['loss.temperature'] as number) >= 0.5 && (c['loss.temperature'] as number) <= 8);
    assert.ok((c['loss.alpha'] as number) >= 0 && (c['loss.alpha'] as number) <= 1);
    assert.ok(['constant', 'linear', 'wsd'].includes(c.alphaSchedule as string));
  }
  assert.throws(() => spaceFor(['nope.key']), /no search space for 'nope.key'/);
  assert.throws(() => spaceFor(['T'], { 'loss.alpha': { min: 0, max: 1, log: false } }), /--params does not list/);
  assert.throws(() => spaceFor(['alphaSchedule'], { alphaSchedule: { choices: ['cosine'] } }), /not one of constant, linear, wsd/);
  // wsd over 100 steps: CE weight 1 -> 0.3 over 10 steps, 0.3 for 70, back to 1 over the last 20
  const wsd = alphaScheduleValue('wsd', 0.3, 100) as Parameters<typeof resolveSchedule>[0];
  const s = resolveSchedule(wsd, 100);
  assert.deepEqual([0, 5, 10, 79, 90, 100].map((t) => Number(scheduleValue(s, t).toFixed(4))), [1, 0.65, 0.3, 0.3, 0.65, 1]);
  assert.deepEqual(alphaScheduleValue('linear', 0.2, 50), { kind: 'linear', start: 0.2, end: 1 });
  assert.deepEqual(configOverrides({ 'loss.temperature': 2, alphaSchedule: 'constant' }, 30, 0.5), [['loss.temperature', 2], ['loss.alpha', 0.5], ['train.steps', 30]]);
});
