// A run's final eval on the recipe's eval.extra sets (out-of-domain text): eval.json carries the
// student's and the teacher's scores per set, the teacher's equal `distill eval` on the same
// windows, and the report's in-domain / out-of-domain table shows KD − baseline per column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '../src/recipe/load.js';
import { runRecipe } from '../src/train/run.js';
import { selectBackend } from '../src/engine/select.js';
import { evaluateTable } from '../src/eval/eval-table.js';
import { buildReportHtml } from '../src/report/report-html.js';
import { loadRun } from '../src/report/run-files.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const D = join(root, '..', 'shared', 'data');
const SHAKES = join(D, 'tinyshakespeare', 'input.txt');
const WIKI = join(D, 'wikitext2-tokens', 'valid.txt');

interface Extra { valLoss: number; bitsPerByte: number; top1Accuracy: number; klToTeacher: number | null; top1Agreement: number | null; tokens: number }

test('eval.extra: KD and CE runs score tinyshakespeare and WikiText; the report shows both domains and KD − baseline', async () => {
  const t = tinyRecipes('distill-eval-extra-', {
    paragraphs: 80, seed: 3, train: '{steps: 3, batchSize: 2, seqLen: 32, lr: 0.01, checkpointEvery: 0}',
    eval: `{every: 0, maxWindows: 2, samples: {prompts: ["Once"], maxTokens: 4}, extra: [{name: shakespeare, path: ${SHAKES}}, {name: wikitext, path: ${WIKI}}]}`,
  });
  const kd = await runRecipe({ recipe: loadRecipe(t.recipe('x-kd')) });
  const ce = await runRecipe({ recipe: loadRecipe(t.recipe('x-ce', 'loss: {alpha: 1}')) });
  assert.equal(kd.kind, 'kd');
  assert.equal(ce.kind, 'baseline');
  const ev = JSON.parse(readFileSync(join(kd.runDir, 'eval.json'), 'utf8')) as { student: { extra: Record<string, Extra> }; teacher: { extra: Record<string, Extra> } };
  assert.deepEqual(Object.keys(ev.student.extra), ['shakespeare', 'wikitext']);
  for (const x of Object.values(ev.student.extra)) {
    assert.equal(x.tokens, 64); // 2 windows of 32
    assert.ok(x.valLoss > 0 && x.bitsPerByte > 0 && x.klToTeacher! > 0 && x.top1Agreement! >= 0);
  }
  // the teacher's figures are `distill eval --split all --seq-len 32 --max-windows 2` on the same files
  const rows = await evaluateTable(selectBackend(), [{ path: join(D, 'stories260K', 'stories260K.bin'), tokenizer: join(D, 'stories260K', 'tok512.bin') }],
    [{ path: SHAKES }, { path: WIKI }], { split: 'all', seqLen: 32, maxWindows: 2 });
  assert.ok(Math.abs(ev.teacher.extra.shakespeare.valLoss - rows[0].natsPerToken) < 1e-5);
  assert.ok(Math.abs(ev.teacher.extra.wikitext.bitsPerByte - rows[1].bitsPerByte) < 1e-5);
  assert.equal(ev.teacher.extra.wikitext.top1Accuracy, rows[1].top1Accuracy);
  const html = buildReportHtml([loadRun(kd.runDir), loadRun(ce.runDir)]);
  assert.match(html, /<h2>In domain and out of domain<\/h2>/);
  assert.match(html, /<th>shakespeare \(nats\/token\)<\/th><th>shakespeare \(bits\/byte\)<\/th><th>wikitext \(nats\/token\)<\/th>/);
  const ceEv = JSON.parse(readFileSync(join(ce.runDir, 'eval.json'), 'utf8')) as { student: { extra: Record<string, Extra> } };
  const diff = ev.student.extra.wikitext.valLoss - ceEv.student.extra.wikitext.valLoss;
  const m = /<tr><td>KD − baseline \(means\)<\/td>((?:<td>[^<]*<\/td>){5})<\/tr>/.exec(html);
  assert.ok(m, html);
  const cells = [...m[1].matchAll(/<td>([^<]*)<\/td>/g)].map((c) => Number(c[1]));
  assert.ok(Math.abs(cells[3] - diff) < 1e-4, `${cells[3]} vs ${diff}`);
});
