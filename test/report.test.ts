// The HTML report: fake run folders (2 seeds × KD/baseline + a run with no eval.json) in a tmp
// dir; checks the SVG curves, the eval and comparison tables' values, the "—" for missing
// values, self-containment (no external URLs, no scripts), and errors naming file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareKdBaseline, tCritical975 } from '../src/report/compare.js';
import { writeReport } from '../src/report/report.js';
import { loadRun, ReportError } from '../src/report/run-files.js';
import { linePlot, logTicks, niceTicks } from '../src/report/svg-plot.js';

interface FakeRun {
  name: string;
  kind?: 'kd' | 'baseline';
  seed?: number;
  finalVal: number;
  eval?: object;
  samples?: object[];
}

/** A run folder whose train/loss decays from 10 towards finalVal over 100 steps (val every 25). */
function makeRun(root: string, r: FakeRun): string {
  const dir = join(root, r.name);
  mkdirSync(dir, { recursive: true });
  if (r.kind) writeFileSync(join(dir, 'run.json'), JSON.stringify({ name: r.name, kind: r.kind, seed: r.seed, teacher: 'tiny-teacher' }));
  const lines: string[] = [];
  for (let step = 0; step <= 100; step += 5) {
    const m: Record<string, number> = { step, wall_time: 1000 + step, 'train/loss': r.finalVal + (10 - r.finalVal) * Math.exp(-step / 20), 'train/lr': 1e-3 };
    if (step % 25 === 0 && step > 0) m['val/loss'] = step === 100 ? r.finalVal : r.finalVal + 1;
    lines.push(JSON.stringify(m));
  }
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  if (r.eval) writeFileSync(join(dir, 'eval.json'), JSON.stringify(r.eval));
  if (r.samples) writeFileSync(join(dir, 'samples.jsonl'), r.samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  writeFileSync(join(dir, 'recipe.resolved.yaml'), `# distill train recipes/x.yaml\nseed: ${r.seed ?? 0}\n`);
  return dir;
}

const teacher = { name: 'tiny-teacher', valLoss: 1.9876, ppl: 7.2986, params: 124_000_000, tokensPerSec: 850 };

test('svg-plot: ticks and coordinates', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(-0.5, 10.5, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.013, 0.061, 4), [0.02, 0.03, 0.04, 0.05, 0.06]);
  assert.deepEqual(logTicks(0.5, 2000), [1, 10, 100, 1000]);
  assert.deepEqual(logTicks(2, 11), [2, 5, 10]);
  assert.deepEqual(logTicks(2.2, 4.8), [3, 4]);
  // 640×320, no title, legend 150 px: plot area x 62..478, y 12..276; y domain padded 5% to [-0.5, 10.5].
  // (0,0) -> (62, 276 - 0.5/11*264) = (62, 264); (10,10) -> (478, 276 - 10.5/11*264) = (478, 24). Hand-derived.
  const svg = linePlot([{ name: 'a', points: [[0, 0], [10, 10]] }], { width: 640, height: 320 });
  assert.match(svg, /<path class="series" d="M62 264L478 24"/);
  // A NaN breaks the line into two sub-paths; log scale drops non-positive values.
  assert.match(linePlot([{ name: 'a', points: [[0, 1], [1, 2], [2, NaN], [3, 3], [4, 4]] }]), /d="M[^"]*L[^"]*M[^"]*L[^"]*"/);
  assert.match(linePlot([{ name: 'a', points: [[0, 0], [1, 100], [2, 1]] }], { logY: true, yLabel: 'loss' }), /loss \(log\)/);
  assert.match(linePlot([{ name: 'a', points: [] }]), /no data/);
  // 10 000 points decimate to at most maxPoints vertices.
  const many = linePlot([{ name: 'a', points: Array.from({ length: 10_000 }, (_, i) => [i, Math.sin(i)] as [number, number]) }], { maxPoints: 200 });
  assert.ok((many.match(/[ML]/g) ?? []).length <= 200 + 4);
});

test('t critical values', () => {
  // Student-t table (checked by numeric integration, see compare.ts).
  assert.equal(tCritical975(1), 12.706);
  assert.equal(tCritical975(9), 2.262);
  assert.equal(tCritical975(35), 2.042);
  assert.equal(tCritical975(1000), 1.98);
});

test('report: curves, eval table, KD-vs-baseline, samples, self-contained', () => {
  const root = mkdtempSync(join(tmpdir(), 'distill-report-'));
  try {
    const dirs = [
      makeRun(root, { name: 'kd-s1', kind: 'kd', seed: 1, finalVal: 2.3, eval: { student: { valLoss: 2.3, ppl: 9.9742, klToTeacher: 0.4321, top1Agreement: 0.615, params: 1_234_567, tokensPerSec: 5400, exportBytes: { F32: 4_938_268, Q8_0: 1_311_744, Q4_0: 694_528 } }, teacher },
        samples: [{ step: 50, tag: 'samples/0', text: 'old' }, { step: 100, tag: 'samples/0', text: 'Once upon a <time> & place' },
          { step: 100, tag: 'samples/1', text: 'Tom ran' }, { step: 100, tag: 'teacher-samples/1', text: 'Tom ran home.' }] }),
      makeRun(root, { name: 'base-s1', kind: 'baseline', seed: 1, finalVal: 2.4, eval: { student: { valLoss: 2.4, params: 1_234_567 }, teacher } }),
      makeRun(root, { name: 'kd-s2', kind: 'kd', seed: 2, finalVal: 2.35, eval: { student: { valLoss: 2.35 } } }),
      makeRun(root, { name: 'base-s2', kind: 'baseline', seed: 2, finalVal: 2.41 }),
      makeRun(root, { name: 'loose', finalVal: 3.5 }),
    ];
    const out = join(root, 'out', 'report.html');
    const runs = writeReport(dirs, out, { generatedAt: 'T0' });
    assert.equal(runs.length, 5);
    const html = readFileSync(out, 'utf8');

    // Plots: 2 loss keys × 5 runs overlaid + 5 per-run plots (2 series each) = 20 paths; 1 lr plot × 5 runs.
    assert.equal((html.match(/<path class="series" d="M/g) ?? []).length, 2 * 5 + 5 * 2 + 5);
    assert.match(html, /<svg class="plot"[^>]*aria-label="train\/loss"/);
    assert.match(html, /<svg class="plot"[^>]*aria-label="val\/loss"/);
    assert.match(html, />kd-s1<\/text>/);

    // Eval table rows: teacher (once), then each run; missing values are "—".
    const evalTable = html.slice(html.indexOf('<table class="eval">'), html.indexOf('</table>', html.indexOf('<table class="eval">')));
    const rows = evalTable.split('<tr>').slice(2).map((r) => [...r.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]));
    assert.deepEqual(rows[0], ['teacher (tiny-teacher)', 'teacher', '—', '1.9876', '7.30', '—', '—', '124.0M', '850']);
    assert.deepEqual(rows[1], ['kd-s1', 'kd', '1', '2.3000', '9.97', '0.4321', '61.5%', '1.2M', '5.4k']);
    // Export sizes beside it: only runs whose eval.json has them (4938268 B = 4.71 MB, 1311744 = 1.25 MB, 694528 = 678.3 KB).
    const exports = html.slice(html.indexOf('<table class="eval exports">'), html.indexOf('</table>', html.indexOf('<table class="eval exports">')));
    assert.match(exports, /<th>student exported as GGUF<\/th><th>f32<\/th><th>q8_0<\/th><th>q4_0<\/th>/);
    assert.deepEqual(exports.split('<tr>').slice(2).map((r) => [...r.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1])), [['kd-s1', '4.71 MB', '1.25 MB', '678.3 KB']]);
    // ppl derived as exp(2.4) = 11.023 when eval.json gives none
    assert.deepEqual(rows[2], ['base-s1', 'baseline', '1', '2.4000', '11.02', '—', '—', '1.2M', '—']);
    // no eval.json: last val/loss from metrics.jsonl, starred
    assert.deepEqual(rows[4], ['base-s2', 'baseline', '2', '2.4100*', '11.13', '—', '—', '—', '—']);
    assert.deepEqual(rows[5], ['loose', '—', '—', '3.5000*', '33.12', '—', '—', '—', '—']);
    assert.equal(rows.length, 6);

    // KD − baseline: seed 1: 2.30 − 2.40 = −0.1000; seed 2: 2.35 − 2.41 = −0.0600; mean −0.0800,
    // SD sqrt(2 × 0.02² / 1) = 0.0283, 95% half-width 12.706 × 0.028284 / √2 = 0.2541 (hand-computed).
    assert.match(html, /<td>1<\/td><td>kd-s1<\/td><td>base-s1<\/td><td>2\.3000<\/td><td>2\.4000<\/td><td class="better">−0\.1000<\/td>/);
    assert.match(html, /<td class="better">−0\.0600<\/td>/);
    assert.match(html, /Mean difference −0\.0800 over 2 seeds \(SD 0\.0283, 95% t interval \[−0\.3341, \+0\.1741\]\); KD lower in 2 of 2/);

    // Samples: newest step only, escaped.
    assert.match(html, /kd-s1 — step 100/);
    assert.ok(html.includes('<pre>Once upon a &lt;time&gt; &amp; place</pre>'));
    // The teacher's sample of the same prompt sits beside the student's (prompt 1 only has one).
    assert.ok(html.includes('<tr><td><pre>Tom ran</pre></td><td><pre>Tom ran home.</pre></td></tr>'));
    assert.equal((html.match(/<table class="samples">/g) ?? []).length, 1);
    assert.ok(!html.includes('teacher-samples/1</p>'), 'a teacher sample is not listed as a sample of its own');
    assert.ok(!html.includes('<pre>old</pre>'));
    assert.ok(html.includes('# distill train recipes/x.yaml'));

    // Self-contained: no URLs, no scripts, no external references.
    assert.ok(!/https?:/i.test(html), 'no http(s) URLs');
    assert.ok(!/<script|<link|<img|<iframe|src=|url\(|@import/i.test(html));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('comparison pairs by seed and lists what it could not pair', () => {
  const root = mkdtempSync(join(tmpdir(), 'distill-report-'));
  try {
    const runs = [
      makeRun(root, { name: 'kd-s1', kind: 'kd', seed: 1, finalVal: 2.0 }),
      makeRun(root, { name: 'kd-s3', kind: 'kd', seed: 3, finalVal: 2.0 }),
      makeRun(root, { name: 'base-s1', kind: 'baseline', seed: 1, finalVal: 2.5 }),
    ].map(loadRun);
    const [c] = compareKdBaseline(runs);
    assert.equal(c.n, 1);
    assert.equal(c.pairs[0].diff, -0.5);
    assert.equal(c.ci95, undefined);
    assert.deepEqual(c.unpaired, ['kd-s3: no baseline run with seed 3']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('malformed run files are refused naming file, line and field', () => {
  const root = mkdtempSync(join(tmpdir(), 'distill-report-'));
  try {
    const dir = makeRun(root, { name: 'r', finalVal: 2 });
    const good = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    writeFileSync(join(dir, 'metrics.jsonl'), good + '{"step": 200, "train/lo');
    const r = loadRun(dir);
    assert.match(r.warnings.join(), /skipped a malformed last line 22/);
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1}\nnot json\n{"step":2}\n');
    assert.throws(() => loadRun(dir), (e: unknown) => e instanceof ReportError && /metrics\.jsonl: line 2 is not valid JSON/.test(e.message));
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1,"train/loss":"abc"}\n');
    assert.throws(() => loadRun(dir), /line 1: "train\/loss" must be a number/);
    writeFileSync(join(dir, 'metrics.jsonl'), good);
    writeFileSync(join(dir, 'eval.json'), '{"student":{"valLoss":"2.0"}}');
    assert.throws(() => loadRun(dir), /eval\.json: "student\.valLoss" must be a number, got "2\.0"/);
    writeFileSync(join(dir, 'eval.json'), '{"student":{"exportBytes":{"F32":-1}}}');
    assert.throws(() => loadRun(dir), /eval\.json: "student\.exportBytes" must map tensor types to byte counts, got \{"F32":-1\}/);
    writeFileSync(join(dir, 'eval.json'), '{}');
    writeFileSync(join(dir, 'run.json'), '{"kind":"teacher"}');
    assert.throws(() => loadRun(dir), /run\.json: "kind" must be "kd" or "baseline", got "teacher"/);
    assert.throws(() => loadRun(join(root, 'nope')), /run folder not found/);
    assert.throws(() => writeReport([], join(root, 'x.html')), /no run folders given/);
    assert.throws(() => writeReport([dir, dir], join(root, 'x.html')), /run folder given twice/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
