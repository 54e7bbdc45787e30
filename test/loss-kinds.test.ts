// The fixed lists of src/engine/loss-kinds.ts and src/distill/schedules.ts are the only ones: the
// native addon's C++ enum codes equal the tables' codes (the binding receives them as numbers),
// and the recipe schema accepts exactly the tables' kinds with their parameters and defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeAddon } from '../src/engine/native/index.js';
import { DIVERGENCES, TAIL_MODES, TEACHER_FORMS } from '../src/engine/loss-kinds.js';
import { SCHEDULES } from '../src/distill/schedules.js';
import { KdLoss, Schedule, TeacherProcessing } from '../src/recipe/schema.js';

const table = (t: readonly { name: string; code: number }[]) => Object.fromEntries(t.map((e) => [e.name, e.code]));

test('the native enum codes are the tables\' codes', { skip: loadNativeAddon() ? false : 'native addon not built' }, () => {
  const codes = loadNativeAddon()!.enumCodes();
  assert.deepEqual(codes.teacherForms, table(TEACHER_FORMS), 'native/ops.h HeadTeacher vs TEACHER_FORMS');
  assert.deepEqual(codes.divergences, table(DIVERGENCES), 'native/ops.h HeadDivergence vs DIVERGENCES');
  assert.deepEqual(codes.tailModes, table(TAIL_MODES), 'native/ops.h HeadTail vs TAIL_MODES');
});

test('each table\'s codes are 0..n-1 in order, names unique', () => {
  for (const t of [TEACHER_FORMS, DIVERGENCES, TAIL_MODES]) {
    assert.deepEqual(t.map((e) => e.code), t.map((_, i) => i));
    assert.equal(new Set(t.map((e) => e.name)).size, t.length);
  }
});

test('the recipe schema takes exactly the tables\' divergences, tail modes and schedule kinds', () => {
  for (const d of DIVERGENCES) {
    const r = KdLoss.safeParse({ kind: d.name });
    assert.ok(r.success, d.name);
    assert.deepEqual(r.data, d.param ? { kind: d.name, [d.param.key]: d.param.default } : { kind: d.name });
    if (d.param) assert.ok(!KdLoss.safeParse({ kind: d.name, [d.param.key]: 1.5 }).success, `${d.name} ${d.param.key} outside [0,1]`);
  }
  assert.ok(!KdLoss.safeParse({ kind: 'kl' }).success);
  assert.ok(!KdLoss.safeParse({ kind: 'forward-kl', beta: 0.5 }).success, 'a parameter the divergence does not take');
  for (const t of TAIL_MODES) assert.ok(TeacherProcessing.safeParse({ tail: t.name }).success, t.name);
  assert.ok(!TeacherProcessing.safeParse({ tail: 'drop' }).success);
  const examples: Record<string, object> = {
    constant: { kind: 'constant', value: 0.5 },
    linear: { kind: 'linear', start: 1, end: 0 },
    wsd: { kind: 'wsd', initial: 0, peak: 1, final: 0, warmupSteps: 1, stableSteps: 2, decaySteps: 3 },
  };
  assert.deepEqual(Object.keys(SCHEDULES).sort(), Object.keys(examples).sort());
  for (const e of Object.values(examples)) assert.ok(Schedule.safeParse(e).success, JSON.stringify(e));
  assert.ok(Schedule.safeParse(0.3).success);
  assert.ok(!Schedule.safeParse({ kind: 'linear', start: 1, end: 0, steps: 0 }).success, 'a span is at least one step');
  assert.ok(!Schedule.safeParse({ kind: 'wsd', initial: 0, peak: 1, final: 0, warmupSteps: -1, stableSteps: 2, decaySteps: 3 }).success);
  assert.ok(!Schedule.safeParse({ kind: 'cosine', value: 1 }).success);
});
