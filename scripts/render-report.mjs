#!/usr/bin/env node
// Renders a report HTML to a PNG with headless Chromium, to look at the plots without a browser.
// `--demo` first writes fake runs through the real Monitor and builds their report (needs dist/:
// run `npx tsc -p tsconfig.json` first). Not part of the test suite; skips if chromium is absent.
//
//   node scripts/render-report.mjs REPORT.html OUT.png [--width 1200] [--height 2000]
//   node scripts/render-report.mjs --demo OUT.png
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const width = Number(opt('--width', '1200'));
const height = Number(opt('--height', '2000'));
const demo = args.includes('--demo');
const pos = args.filter((a) => a !== '--demo');

function findChromium() {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

/** Two seeds × {KD, baseline}, 400 steps, logged through Monitor; returns the run folders. */
async function writeDemoRuns(root) {
  const { Monitor } = await import(pathToFileURL(resolve('dist/src/monitor/monitor.js')).href);
  const { writeFileSync } = await import('node:fs');
  const dirs = [];
  for (const seed of [1, 2]) {
    for (const kind of ['kd', 'baseline']) {
      const name = `${kind}-seed${seed}`;
      const dir = join(root, name);
      let now = 1.7e12;
      const mon = new Monitor(dir, { totalSteps: 400, tokensPerStep: 4096, progress: false, now: () => now });
      const floor = kind === 'kd' ? 2.2 + 0.03 * seed : 2.35 + 0.07 * seed;
      let x = seed * 7919;
      const noise = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.15;
      for (let step = 1; step <= 400; step++) {
        now += 250;
        const loss = floor + (10.8 - floor) * Math.exp(-step / 60) + noise();
        const s = { 'train/loss': loss, 'train/lr': 3e-4 * Math.min(1, step / 40), 'train/grad_norm': 1 + 4 * Math.exp(-step / 80) };
        if (kind === 'kd') Object.assign(s, { 'train/kd_loss': 0.6 * (loss - 1.5), 'train/ce_loss': loss });
        if (step % 10 === 0) {
          Object.assign(s, {
            'train/tokens_per_sec': 16000 + 2000 * noise(), 'step_time/teacher_ms': kind === 'kd' ? 60 : 0, 'step_time/forward_ms': 80,
            'step_time/loss_ms': 30, 'step_time/backward_ms': 150, 'step_time/optimizer_ms': 12, 'mem/rss_mib': 300 + step / 8, 'mem/peak_rss_mib': 360 + step / 8,
          });
        }
        if (step % 50 === 0) {
          s['val/loss'] = floor + 0.05 + (10.8 - floor) * Math.exp(-step / 60);
          // a KD student that agrees more and more with its teacher while its samples turn repetitive (seed 2)
          Object.assign(s, { 'val/top1_agreement': 0.2 + step / 1000, 'val/kl_to_teacher': 0.3 + 3 * Math.exp(-step / 80),
            'diversity/distinct_2': kind === 'kd' && seed === 2 ? 0.8 - step / 800 : 0.8, 'diversity/repetition_4': kind === 'kd' && seed === 2 ? step / 700 : 0.05 });
        }
        mon.scalars(step, s);
      }
      mon.scalars(400, { 'diversity/teacher_distinct_2': 0.85, 'diversity/teacher_repetition_4': 0.02 });
      mon.text(400, 'samples/0', `Once upon a time, ${name} wrote a short story about a cat.`);
      mon.close();
      writeFileSync(join(dir, 'run.json'), JSON.stringify({ name, kind, seed, teacher: 'demo-teacher-110M' }));
      const student = { valLoss: floor + 0.05, params: 15_200_000, tokensPerSec: 21_000 + 500 * seed };
      if (kind === 'kd') Object.assign(student, { klToTeacher: 0.41 + 0.02 * seed, top1Agreement: 0.58 - 0.01 * seed });
      writeFileSync(join(dir, 'eval.json'), JSON.stringify({ student, teacher: { name: 'demo-teacher-110M', valLoss: 1.95, params: 110_000_000, tokensPerSec: 3100 } }));
      dirs.push(dir);
    }
  }
  return dirs;
}

const chromium = findChromium();
if (!chromium) {
  console.log('render-report: chromium not found (Debian: apt-get install -y chromium); skipping.');
  process.exit(0);
}

let html = pos[0];
let out = pos[1];
let tmp;
if (demo) {
  out = pos[0] ?? 'report-demo.png';
  tmp = mkdtempSync(join(tmpdir(), 'distill-render-'));
  const { writeReport } = await import(pathToFileURL(resolve('dist/src/report/report.js')).href);
  html = join(tmp, 'report.html');
  writeReport(await writeDemoRuns(tmp), html, { title: 'distill demo report (fake runs)' });
}
if (!html || !out) {
  console.error('usage: node scripts/render-report.mjs REPORT.html OUT.png [--width W] [--height H] | --demo OUT.png');
  process.exit(2);
}
if (!existsSync(html)) {
  console.error(`render-report: ${html} not found`);
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), 'distill-chromium-'));
try {
  execFileSync(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, `--screenshot=${resolve(out)}`,
    `--window-size=${width},${height}`, pathToFileURL(resolve(html)).href,
  ], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  console.log(`render-report: wrote ${resolve(out)} (${width}×${height}) from ${html}`);
} finally {
  rmSync(profile, { recursive: true, force: true });
  if (tmp && demo) console.log(`render-report: demo runs and report left in ${tmp}`);
}
