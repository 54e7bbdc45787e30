// The HTML report: fake run folders (2 seeds × KD/baseline + a run with no eval.json) in a tmp
// dir; checks the SVG curves, the eval and comparison tables' values, the "—" for missing
// values, self-containment (no external URLs, no scripts), and errors naming file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareKdBaseline, tCritical975 } from '../src/report/compare.js';
import { metricInfo } from '../src/monitor/metric-kinds.js';
import { writeReport } from '../src/report/report.js';
import { buildReportHtml } from '../src/report/report-html.js';
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

    // Plots: the KD-vs-baseline chart (2 means, 2 seed bands), 2 loss keys × 5 runs overlaid + 5
    // per-run loss plots (2 series each), 1 lr plot × 5 runs.
    assert.equal((html.match(/<path class="series" d="M/g) ?? []).length, 2 + 2 * 5 + 5 * 2 + 5);
    assert.equal((html.match(/<polygon class="band"/g) ?? []).length, 2);
    // It leads the page: before the runs table and every other chart.
    const lead = html.indexOf('aria-label="val loss: kd vs baseline"');
    assert.ok(lead > 0 && lead < html.indexOf('<h2>Runs</h2>') && lead < html.indexOf('<svg', html.indexOf('<h2>Losses</h2>')));
    assert.ok(lead === html.indexOf('<svg class="plot"') + html.slice(html.indexOf('<svg class="plot"')).indexOf('aria-label="val loss: kd vs baseline"'), 'the first chart');
    // Axes say what they hold: losses in nats (linear: 10 → 2.3 spans less than a decade), the lr in its own section.
    assert.match(html, /<svg class="plot"[^>]*aria-label="train\/loss".*?>nats<\/text>/);
    assert.match(html, /<h2>Learning rate<\/h2><div class="plots">\n<svg class="plot"[^>]*aria-label="train\/lr".*?>learning rate<\/text>/);
    assert.ok(!html.includes('Values logged once'), 'no single-point metric here');
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

test('metric kinds: each name has a kind and unit; seconds are never a loss', () => {
  const k = (n: string) => { const i = metricInfo(n); return `${i.kind} ${i.unit}`; };
  assert.equal(k('time/loss_s'), 'time s', 'the cumulative loss timer of issue 20 is a time');
  assert.equal(k('step_time/loss_ms'), 'time ms per step');
  assert.equal(k('train/kd_loss'), 'loss nats');
  assert.equal(k('val/loss'), 'loss nats');
  assert.equal(k('eval/val_loss'), 'loss nats');
  assert.equal(k('val/kl_to_teacher'), 'divergence nats');
  assert.equal(k('val/top1_agreement'), 'agreement fraction');
  assert.equal(k('diversity/distinct_2'), 'diversity fraction');
  assert.equal(k('diversity/teacher_repetition_4'), 'diversity fraction');
  assert.equal(k('mem/peak_rss_mib'), 'memory MiB');
  assert.equal(k('sys/rss_mb'), 'memory MiB');
  assert.equal(k('train/tokens_per_sec'), 'rate tokens/s');
  assert.equal(k('train/lr'), 'lr ');
  assert.equal(k('profile/op/gemm_s'), 'time s');
  assert.equal(k('profile/gemm_pct'), 'time % of wall');
  assert.equal(k('train/grad_norm'), 'other ');
  assert.equal(k('train/tokens'), 'count tokens');
});

test('report groups charts by kind with unit axes, tables single points, and flags a formulaic student', () => {
  const root = mkdtempSync(join(tmpdir(), 'distill-report-kinds-'));
  try {
    const run = (name: string, repetition: number): string => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      const lines: string[] = [];
      for (let step = 10; step <= 50; step += 10) {
        lines.push(JSON.stringify({
          step, 'train/loss': 5 - step / 20, 'step_time/forward_ms': 4, 'step_time/backward_ms': 8, 'mem/rss_mib': 300 + step,
          'mem/peak_rss_mib': 400, 'train/tokens_per_sec': 5000, 'val/top1_agreement': 0.3 + step / 200,
          'diversity/distinct_2': 0.9 - repetition * step / 60, 'diversity/repetition_4': (repetition * step) / 50,
        }));
      }
      lines.push(JSON.stringify({ step: 50, 'eval/val_loss': 2.5, 'diversity/teacher_repetition_4': 0.05, 'diversity/teacher_distinct_2': 0.8 }));
      writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
      return dir;
    };
    const html = buildReportHtml([loadRun(run('formulaic', 0.6)), loadRun(run('healthy', 0.05))]);
    // sections in kind order, each kind once
    const h2 = [...html.matchAll(/<h2>(.*?)<\/h2>/g)].map((m) => m[1]);
    const at = (t: string) => h2.findIndex((h) => h.startsWith(t));
    assert.ok(at('Losses') < at('Over-distillation: teacher') && at('Over-distillation: teacher') < at('Over-distillation: diversity'));
    assert.ok(at('Over-distillation: diversity') < at('Throughput') && at('Throughput') < at('Step time') && at('Step time') < at('Memory'));
    // step time: one chart per run, the parts as series, in ms per step; memory in MiB
    assert.match(html, /aria-label="formulaic: step time split".*?>ms per step<\/text>.*?>backward_ms<\/text>.*?>forward_ms<\/text>/);
    assert.match(html, /aria-label="healthy: memory".*?>MiB<\/text>/);
    assert.match(html, /aria-label="train\/tokens_per_sec".*?>tokens\/s<\/text>/);
    assert.match(html, /aria-label="val\/top1_agreement".*?>fraction<\/text>/);
    // single points are not charted (no 49..51 axis): they go to the table, with their step
    assert.ok(!html.includes('aria-label="eval/val_loss"'));
    assert.match(html, /<tr><td>eval\/val_loss<\/td><td>loss<\/td><td>nats<\/td><td>2\.5 <span class="meta">@50<\/span><\/td><td>2\.5 <span class="meta">@50<\/span><\/td><\/tr>/);
    // the over-distillation table: first → last, and the flag (0.6 × 50 / 50 = 60% ≥ 30% and ≥ 5% + 10 points)
    const od = html.slice(html.indexOf('<table class="overdistill">'), html.indexOf('</table>', html.indexOf('<table class="overdistill">')));
    assert.match(od, /<td>formulaic<\/td><td>35\.0% → 55\.0%<\/td><td>—<\/td><td>80\.0% → 40\.0%<\/td><td>12\.0% → 60\.0%<\/td><td>80\.0% \/ 5\.0%<\/td><td class="worse">formulaic\? repeats 60% of its 4-grams \(teacher 5%\)<\/td>/);
    assert.match(od, /<td>healthy<\/td>.*<td class="">ok<\/td>/);
    // every chart has points, both axis labels and a legend (the browser test checks the rendering)
    for (const svg of html.match(/<svg class="plot".*?<\/svg>/g) ?? []) {
      assert.ok(/class="series"/.test(svg) && (svg.match(/class="label"/g) ?? []).length === 2 && /class="legend"/.test(svg), svg.slice(0, 120));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
