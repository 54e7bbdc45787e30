// The report as a browser shows it: four real tiny runs (KD and its α = 1 baseline, seeds 1 and 2,
// one of them --profile) reported together and loaded in headless Chromium over the DevTools
// protocol. Every chart must have drawn points, both axis labels and a legend; the KD-vs-baseline
// chart with its seed bands comes first; the page logs no console error. Skipped, with the reason,
// where no Chromium is installed (.ci/run installs Debian's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport } from '../src/report/report.js';
import { findChromium, inspectPage } from './helpers/chromium.js';
import { runRecipeFile } from './helpers/run-recipe.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';

const chromium = findChromium();
const skip = chromium ? false : 'chromium not found on PATH or $CHROMIUM (Debian: apt-get install -y chromium; .ci/run installs it when it can)';

interface Chart { title: string; vertices: number; drawn: number; labels: { text: string; width: number }[]; legend: string[]; bands: number; width: number; height: number; nodata: boolean }
interface PageFacts { charts: Chart[]; h2: string[]; tables: number }

/** Runs in the page: what each SVG chart drew, as laid out by the browser (getBBox, getTotalLength). */
const FACTS = `(() => {
  const charts = [...document.querySelectorAll('svg.plot')].map((svg) => {
    const paths = [...svg.querySelectorAll('path.series')];
    const r = svg.getBoundingClientRect();
    return {
      title: svg.getAttribute('aria-label'),
      vertices: paths.reduce((n, p) => n + (p.getAttribute('d').match(/[ML]/g) || []).length, 0)
        + svg.querySelectorAll('circle.series').length,
      drawn: paths.filter((p) => p.getTotalLength() > 0).length + [...svg.querySelectorAll('circle.series')].filter((c) => c.getBBox().width > 0).length,
      labels: [...svg.querySelectorAll('text.label')].map((t) => ({ text: t.textContent, width: t.getBBox().width })),
      legend: [...svg.querySelectorAll('text.legend')].map((t) => t.textContent),
      bands: svg.querySelectorAll('polygon.band').length,
      width: r.width, height: r.height, nodata: svg.querySelector('.nodata') !== null,
    };
  });
  return { charts, h2: [...document.querySelectorAll('h2')].map((h) => h.textContent), tables: document.querySelectorAll('table').length };
})()`;

test('the report in headless Chromium: every chart has points, axis labels and a legend; no console errors', { skip, timeout: 300_000 }, async () => {
  const { dir, recipe } = tinyRecipes('distill-report-browser-', {
    paragraphs: 150, seed: 1, train: '{steps: 8, batchSize: 4, seqLen: 32, lr: 0.01, checkpointEvery: 0}',
    eval: '{every: 2, maxWindows: 4, samples: {prompts: ["Once upon a time", "Tom had a"], maxTokens: 12}}',
  });
  try {
    const runs = [];
    for (const seed of [1, 2]) {
      runs.push(await runRecipeFile({ recipePath: recipe('kd'), overrides: [`seed=${seed}`, `name=kd-s${seed}`], profile: seed === 1 }));
      runs.push(await runRecipeFile({ recipePath: recipe('kd'), overrides: [`seed=${seed}`, `name=ce-s${seed}`, 'loss.alpha=1'] }));
    }
    const html = join(dir, 'report.html');
    writeReport(runs.map((r) => r.runDir), html, { generatedAt: 'test' });
    const { errors, value } = await inspectPage<PageFacts>(chromium as string, html, FACTS);
    assert.deepEqual(errors, [], 'no console errors');
    const { charts, h2 } = value;
    assert.ok(charts.length >= 15, `${charts.length} charts`);
    for (const c of charts) {
      const what = `chart "${c.title}"`;
      assert.ok(!c.nodata && c.vertices >= 1 && c.drawn >= 1, `${what} has drawn points`);
      assert.equal(c.labels.length, 2, `${what} has an x and a y axis label`);
      for (const l of c.labels) assert.ok(l.text.trim() !== '' && l.width > 0, `${what}: axis label "${l.text}" is laid out`);
      assert.ok(c.legend.length >= 1 && c.legend.every((t) => t.trim() !== ''), `${what} has a legend`);
      assert.ok(c.width > 100 && c.height > 100, `${what} has a size on the page`);
    }
    // The KD-vs-baseline chart leads (the variant is the KD divergence, run.json): the first chart, two seed bands, axes step × nats.
    assert.equal(charts[0].title, 'val loss: forward-kl vs baseline');
    assert.equal(charts[0].bands, 2);
    assert.deepEqual(charts[0].legend, ['forward-kl (2 seeds)', 'baseline (2 seeds)']);
    assert.deepEqual(charts[0].labels.map((l) => l.text), ['step', 'nats']);
    assert.equal(h2[0], 'KD vs baseline (paired by seed)');
    // One chart per kind of what the runs logged, each with its unit on the y axis.
    const yLabel = (title: string) => charts.find((c) => c.title === title)?.labels[1].text;
    assert.equal(yLabel('train/loss'), 'nats');
    assert.equal(yLabel('val/kl_to_teacher'), 'nats');
    assert.equal(yLabel('val/top1_agreement'), 'fraction');
    assert.equal(yLabel('diversity/distinct_2'), 'fraction');
    assert.equal(yLabel('train/tokens_per_sec'), 'tokens/s');
    assert.equal(yLabel('kd-s1: step time split'), 'ms per step');
    assert.equal(yLabel('ce-s2: memory'), 'MiB');
    assert.equal(yLabel('train/lr'), 'learning rate');
    for (const h of ['Over-distillation signals', 'Values logged once', 'Time per op (--profile)', 'Step time', 'Memory']) assert.ok(h2.includes(h), `section ${h}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the browser harness itself sees console errors and exceptions', { skip, timeout: 120_000 }, async () => {
  const { dir } = tinyRecipes('distill-report-browser-neg-', { paragraphs: 1, seed: 0, train: '{}', eval: '{}' });
  try {
    const page = join(dir, 'bad.html');
    writeFileSync(page, '<!DOCTYPE html><html><body><script>console.error("broken chart"); null.x;</script></body></html>');
    const { errors, value } = await inspectPage<number>(chromium as string, page, '1 + 1');
    assert.equal(value, 2);
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0], /console\.error: .*broken chart/);
    assert.match(errors[1], /exception: .*TypeError/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
