// Sweep files expand as documented: grid × list × seeds, a mapping without `kind` changes only
// the keys it names while one with another kind replaces the value, labels name cells, and the
// markdown/CSV tables quote what needs quoting. No training here (sweep-cli.test.ts runs cells).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandSweep, flattenValue, SweepSpec, valueLabel } from '../src/sweep/spec.js';
import { rowsCsv, rowsMarkdown, type SweepRow } from '../src/sweep/summary.js';

const BASE = 'recipes/tinystories/sweep/base.yaml';

test('flattenValue: merge into a section unless the kind changes; scalars replace', () => {
  assert.deepEqual(flattenValue('student', { dim: 32, nLayers: 3 }, { kind: 'config', dim: 16, nLayers: 2 }), [['student.dim', 32], ['student.nLayers', 3]]);
  assert.deepEqual(flattenValue('loss.alpha', { kind: 'linear', start: 0.2, end: 1 }, 0.5), [['loss.alpha', { kind: 'linear', start: 0.2, end: 1 }]]);
  assert.deepEqual(flattenValue('loss.kd', { kind: 'jsd', beta: 0.1 }, { kind: 'forward-kl' }), [['loss.kd', { kind: 'jsd', beta: 0.1 }]]);
  assert.deepEqual(flattenValue('loss.kd', { kind: 'jsd', beta: 0.1 }, { kind: 'jsd', beta: 0.5 }), [['loss.kd.kind', 'jsd'], ['loss.kd.beta', 0.1]]);
  assert.equal(valueLabel({ kind: 'wsd', initial: 1, peak: 0.5 }), 'wsd-initial1-peak0.5');
});

test('expandSweep: grid × list × seeds in order, labels, overrides that load', () => {
  const spec = SweepSpec.parse({
    base: BASE, name: 'x', seeds: [1, 2],
    grid: { 'train.steps': [8, 16], 'loss.alpha': [1, 0.5] }, list: [{ 'loss.temperature': 1 }, { 'loss.temperature': 2, 'loss.kd': { kind: 'reverse-kl' } }],
    labels: { 'loss.alpha': ['ce', 'kd'] },
  });
  const cells = expandSweep(spec, 'x.sweep.yaml');
  assert.equal(cells.length, 2 * 2 * 2 * 2);
  assert.equal(cells[0].name, 'x-steps8_ce_temperature1-s1');
  assert.equal(cells[3].name, 'x-steps8_ce_temperature2_kdreverse-kl-s2');
  assert.deepEqual(cells[3].overrides, ['train.steps=8', 'loss.alpha=1', 'loss.temperature=2', 'loss.kd={"kind":"reverse-kl"}', 'seed=2', 'name=x-steps8_ce_temperature2_kdreverse-kl-s2', 'outDir="runs/x"']);
  assert.deepEqual(cells[15].point, { 'train.steps': 16, 'loss.alpha': 0.5, 'loss.temperature': 2, 'loss.kd': { kind: 'reverse-kl' } });
});

test('summary tables: one row per cell, CSV quoting, markdown pipes escaped', () => {
  const rows: SweepRow[] = [{ name: 'a', point: { 'loss.kd': { kind: 'jsd' }, note: 'x,y' }, seed: 1, status: 'done', kind: 'kd', params: 100, tokens: 2048, valLoss: 3.14159 }];
  assert.equal(rowsCsv(rows), 'name,loss.kd,note,seed,kind,params,tokens,valLoss,klToTeacher,top1Agreement,teacherValLoss,seconds,status\na,jsd,"x,y",1,kd,100,2048,3.1416,,,,,done\n');
  assert.match(rowsMarkdown([{ ...rows[0], point: { note: 'a|b' } }]), /\| a \| a\\\|b \| 1 \| kd \|/);
});
