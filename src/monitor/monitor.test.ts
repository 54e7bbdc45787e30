// Monitor, MetricsLog and Progress: what lands in metrics.jsonl / samples.jsonl / tfevents for a
// few logged steps, the progress line's rates and ETA under a fake clock, TTY vs plain output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTfEvents } from '../io/tfevents.js';
import { MetricsLog, parseJsonScalar } from './metrics-log.js';
import { Monitor, rss } from './monitor.js';
import { formatDuration, formatRate, Progress } from './progress.js';
import { JobProgress } from './job-progress.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'distill-monitor-'));

class FakeStream {
  out = '';
  constructor(readonly isTTY: boolean, readonly columns = 200) {}
  write(s: string): boolean {
    this.out += s;
    return true;
  }
}

test('formatting helpers', () => {
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(258), '4m18s');
  assert.equal(formatDuration(7), '7s');
  assert.equal(formatDuration(NaN), '—');
  assert.equal(formatRate(12345), '12.3k');
  assert.equal(formatRate(2.5e6), '2.50M');
  assert.equal(formatRate(3.456), '3.46');
});

test('metrics.jsonl: one line per call, non-finite values as strings, reserved names refused', () => {
  const dir = tmp();
  try {
    const p = join(dir, 'sub', 'metrics.jsonl');
    const m = new MetricsLog(p);
    m.write(10, { 'train/loss': 2.5 }, 100);
    m.write(20, { 'train/loss': NaN, 'val/loss': Infinity }, 101);
    assert.throws(() => m.write(30, { step: 1 }), /scalar name 'step' is reserved/);
    m.close();
    const lines = readFileSync(p, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines, [
      { step: 10, wall_time: 100, 'train/loss': 2.5 },
      { step: 20, wall_time: 101, 'train/loss': 'NaN', 'val/loss': 'Infinity' },
    ]);
    assert.ok(Number.isNaN(parseJsonScalar('NaN')));
    assert.equal(parseJsonScalar('-Infinity'), -Infinity);
    assert.equal(parseJsonScalar('x'), undefined);
    // appending: a second log (a resumed run) keeps the earlier lines
    const m2 = new MetricsLog(p);
    m2.write(30, { 'train/loss': 1 }, 102);
    m2.close();
    assert.equal(readFileSync(p, 'utf8').trimEnd().split('\n').length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress: rates, ETA and plain lines every N seconds when not a TTY', () => {
  let now = 0;
  const s = new FakeStream(false);
  const p = new Progress({ total: 100, stream: s, now: () => now, plainEverySeconds: 10 });
  // 2 steps per second, 512 tokens per step
  for (let step = 1; step <= 40; step++) {
    now = step * 500;
    p.update(step, { tokens: step * 512, values: { loss: 3.21 } });
  }
  const r = p.rates();
  assert.equal(r.stepsPerSec, 2);
  assert.equal(r.tokensPerSec, 1024);
  const lines = s.out.trimEnd().split('\n');
  // first update (t=0.5 s) prints, then every >= 10 s: t=10.5 (step 21), t=20.5 (step 41 not reached)
  assert.deepEqual(lines.map((l) => l.split(' ')[1]), ['1/100', '21/100']);
  // elapsed counts from construction (t=0): 10.5 s rounds to 11 s
  assert.equal(lines[1], 'step 21/100 21.0% | 2.00 step/s | 1.0k tok/s | elapsed 11s | ETA 40s | loss 3.210');
  p.done();
  assert.match(s.out.trimEnd().split('\n').at(-1)!, /^step 40\/100 40\.0% \| 2\.00 step\/s .*ETA 30s \| loss 3\.210$/);
});

test('progress: a TTY redraws in place, throttled, and ends with a newline', () => {
  let now = 0;
  const s = new FakeStream(true, 60);
  const p = new Progress({ total: 10, stream: s, now: () => now, redrawEverySeconds: 1 });
  for (let step = 1; step <= 10; step++) {
    now = step * 250;
    p.update(step, { values: { loss: 1 } });
  }
  p.update(10, { values: { loss: 2 } }); // an update after the end (final eval): not drawn again
  p.done();
  const frames = s.out.split('\r').filter((f) => f !== '');
  // draws at step 1 (first), 5 (t=1.25 s), 9 (t=2.25 s), 10 (final, once); done() only ends the line
  assert.equal(frames.length, 4);
  assert.ok(frames.every((f) => f.replace(/\x1b\[K\n?$/, '').length <= 59), 'truncated to the terminal width');
  assert.match(frames[3], /^step 10\/10 \[#{20}\] 100\.0%/);
  assert.ok(s.out.endsWith('\n'));
  assert.ok(!s.out.slice(0, -1).includes('\n'), 'no newline before the end');
});

test('Monitor writes tfevents, metrics.jsonl, samples.jsonl and the progress line', () => {
  const dir = tmp();
  try {
    let now = 1_000_000;
    const s = new FakeStream(false);
    const mon = new Monitor(dir, { totalSteps: 4, tokensPerStep: 256, stream: s, now: () => now, host: 'h' });
    for (let step = 1; step <= 4; step++) {
      now += 1000;
      mon.scalars(step, { 'train/loss': 5 - step, 'train/lr': 0.001 });
    }
    mon.scalars(4, { 'val/loss': 1.5 });
    mon.text(4, 'samples/0', 'the cat sat');
    mon.close();
    mon.close();
    assert.throws(() => mon.scalars(5, { x: 1 }), /called after close/);

    const metrics = readFileSync(mon.metricsPath, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    assert.equal(metrics.length, 5);
    assert.deepEqual(metrics[0], { step: 1, wall_time: 1001, 'train/loss': 4, 'train/lr': 0.001 });
    assert.deepEqual(JSON.parse(readFileSync(mon.samplesPath, 'utf8')), { step: 4, tag: 'samples/0', text: 'the cat sat', wall_time: 1004 });
    const ev = readTfEvents(mon.tfeventsPath);
    assert.equal(ev.length, 1 + 5 + 1);
    assert.deepEqual(ev[4].values, [{ tag: 'train/loss', simpleValue: 1 }, { tag: 'train/lr', simpleValue: Math.fround(0.001) }]);
    assert.equal(ev[6].values[0].text, 'the cat sat');
    // 1 step/s, 256 tokens/step, 4 s since the Monitor was made; the line at 100% is printed once,
    // when training ends: the val/loss logged after it at the same step (the final eval) does not repeat it
    assert.match(s.out, /step 4\/4 100\.0% \| 1\.00 step\/s \| 256 tok\/s \| elapsed 4s \| ETA 0s \| loss 1\.000\n$/);
    assert.equal(s.out.match(/step 4\/4/g)?.length, 1);
    assert.ok(rss() > 1e6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Monitor shows train/loss and val/loss first among at most 4 losses (a loss timer is no loss)', () => {
  const dir = tmp();
  try {
    const s = new FakeStream(false);
    const mon = new Monitor(dir, { totalSteps: 2, stream: s, now: () => 0, host: 'h' });
    mon.scalars(1, { 'train/kd_loss': 1, 'step_time/loss_ms': 9, 'train/ce_loss': 2, 'train/aux_loss': 3, 'train/loss': 4, 'train/lr': 1 });
    mon.scalars(2, { 'val/loss': 5 });
    mon.close();
    assert.match(s.out.trimEnd().split('\n').at(-1)!, /\| loss 4\.000 val\/loss 5\.000 kd_loss 1\.000 ce_loss 2\.000$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress for any job: its own label and unit, the 100% line once, then one final line', () => {
  let now = 0;
  const s = new FakeStream(false);
  const p = new Progress({ total: 8, label: 'eval windows', unit: 'window', stream: s, now: () => now, plainEverySeconds: 100 });
  for (let w = 2; w <= 8; w += 2) {
    now += 500;
    p.update(w, { tokens: w * 64 });
  }
  p.update(8);
  p.done('eval: 8 windows, loss 2.5');
  p.done();
  // 2 windows per 0.5 s = 4 windows/s, 256 tokens/s (the first line: no rate yet)
  assert.deepEqual(s.out.trimEnd().split('\n'), [
    'eval windows 2/8 25.0% | — window/s | elapsed 1s | ETA —',
    'eval windows 8/8 100.0% | 4.00 window/s | 256 tok/s | elapsed 2s | ETA 0s',
    'eval: 8 windows, loss 2.5',
  ]);
});

test('JobProgress: made at the first update with the total, off with --no-progress but the final line stays', () => {
  let now = 0;
  const on = new FakeStream(false);
  const job = new JobProgress({ enabled: true, label: 'export tensors', unit: 'tensor', stream: on, now: () => now, plainEverySeconds: 100 });
  job.update(0, 0); // no total yet: nothing drawn
  for (let i = 1; i <= 4; i++) { now += 1000; job.update(i, 4); }
  job.done('wrote model.gguf');
  assert.deepEqual(on.out.trimEnd().split('\n'), [
    'export tensors 1/4 25.0% | — tensor/s | elapsed 1s | ETA —',
    'export tensors 4/4 100.0% | 1.00 tensor/s | elapsed 4s | ETA 0s',
    'wrote model.gguf',
  ]);
  const off = new FakeStream(false);
  const quiet = new JobProgress({ enabled: false, label: 'rows', unit: 'row', stream: off });
  quiet.update(1, 2);
  quiet.done('2 rows');
  assert.equal(off.out, '2 rows\n');
});
