// The onnx teacher (src/teacher/onnx-teacher.ts) on ONNX files written by another tool: the real
// stories260K model exported by PyTorch's torch.onnx.export (scripts/gen-onnx-fixtures.py), plain
// (input_ids -> logits) and in the optimum layout (mask, positions, empty past_key_values), run by
// onnxruntime-node. Three ways agree on one real window: the ONNX files, PyTorch's own logits
// (test/fixtures/onnx/reference.json/.bin) and distill's engine on stories260K.bin; B>1 windows,
// V slicing, int32 ids, tokenizer.json beside the model, and the errors a user can meet.
// Skipped, by name, only where onnxruntime-node cannot load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/load-tokenizer.js';
import { selectBackend } from '../src/engine/select.js';
import { readProtoFields } from '../src/io/protobuf-wire.js';
import { loadOnnxRuntime } from '../src/teacher/onnx-teacher.js';
import { openTeacher, type TeacherContext, type TeacherSpec } from '../src/teacher/open-teacher.js';
import { TeacherError, type Teacher, type TeacherRequest } from '../src/teacher/teacher.js';
import { fixturesDir, loadFixture } from './helpers/fixtures.js';

const S = '../shared/data/stories260K';
const dir = join(fixturesDir, 'onnx');
const PLAIN = join(dir, 'plain', 'model.onnx'); // named as a file
const KV = join(dir, 'kv'); // named as a folder: model.onnx + config.json
const ref = loadFixture('onnx/reference').cases[0]; // /usr/bin/python3 scripts/gen-onnx-fixtures.py
const window = Int32Array.from(ref.params.tokens as number[]);
const torchLogits = ref.f32('logits');
const T = window.length, V = 512, B = 3;
// About twice the largest max |diff| measured on this window, logits up to 22.4 in magnitude
// (onnxruntime-node 1.30 CPU, PyTorch 1.13, native engine; both exports alike): ONNX vs PyTorch
// 1.92e-5, ONNX vs engine 1.60e-5, engine vs PyTorch 2.59e-5 (float32 rotary angles, other sums);
// a window in a batch of 3 vs alone: 0 (bit for bit).
const TOL = 5e-5;

const ortError = await loadOnnxRuntime().then(() => null, (e: Error) => e.message);
const skip = ortError ? `onnxruntime-node cannot load on this platform: ${ortError}` : false;

const tokenizer = loadTokenizer(join(S, 'tok512.bin'));
const ctx: TeacherContext = {
  be: selectBackend(), tokenizer, batch: B, seqLen: T, corpus: { train: window, val: window },
  processing: { topP: 1, labelSmoothing: 0 }, source: 'test.yaml',
};
/** B windows of the reference's ids: the window itself, then rotations of it (real ids, other orders). */
const windows = Int32Array.from({ length: B * T }, (_, i) => window[(i % T + 17 * Math.floor(i / T)) % T]);
const req = (o: Partial<TeacherRequest> = {}): TeacherRequest =>
  ({ tokens: window, B: 1, T, split: 'val', offsets: new Int32Array(B), V, accept: ['logits'], temperature: 1, ...o });

async function logitsOf(t: Teacher, o: Partial<TeacherRequest> = {}): Promise<Float32Array> {
  const out = await t.predict(req(o));
  assert.equal(out.kind, 'logits');
  return (out as { logits: Float32Array }).logits.slice();
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const engine = await openTeacher({ kind: 'checkpoint', path: join(S, 'stories260K.bin'), precision: 'fp32' }, ctx);

for (const [name, spec] of [['plain', { kind: 'onnx', path: PLAIN }], ['optimum kv', { kind: 'onnx', path: KV }]] as [string, TeacherSpec][]) {
  test(`onnx teacher (${name} export of stories260K) gives PyTorch's and the engine's logits`, { skip }, async (t) => {
    const onnx = (await openTeacher(spec, ctx))!;
    assert.equal(onnx.vocabSize, V);
    assert.equal(onnx.tokenizerIdentity, null); // no tokenizer.json beside it: the run's tokenizer is assumed
    assert.equal(onnx.maxSeqLen, name === 'plain' ? T : 512); // the run's windows, or config.json's max_position_embeddings
    assert.ok(onnx.scoresAnyText && !onnx.canGenerate && onnx.localModel === null);
    assert.match(onnx.identity, /^sha256:[0-9a-f]{64}$/);
    const got = await logitsOf(onnx);
    const mine = await logitsOf(engine!);
    const dTorch = maxAbsDiff(got, torchLogits), dEngine = maxAbsDiff(got, mine), dEngineTorch = maxAbsDiff(mine, torchLogits);
    t.diagnostic(`max |diff|: onnx-torch ${dTorch.toExponential(2)}, onnx-engine ${dEngine.toExponential(2)}, engine-torch ${dEngineTorch.toExponential(2)}`);
    assert.ok(dTorch <= TOL, `onnx vs PyTorch ${dTorch}`);
    assert.ok(dEngine <= TOL, `onnx vs engine ${dEngine}`);
    assert.ok(dEngineTorch <= TOL, `engine vs PyTorch ${dEngineTorch}`);
  });

  test(`onnx teacher (${name}): ${B} windows per call equal the engine's and each window alone; V cut to fewer columns`, { skip }, async (t) => {
    const onnx = (await openTeacher(spec, ctx))!;
    const batched = await logitsOf(onnx, { tokens: windows, B });
    const dEngine = maxAbsDiff(batched, await logitsOf(engine!, { tokens: windows, B }));
    t.diagnostic(`${B} windows: onnx-engine ${dEngine.toExponential(2)}`);
    assert.ok(dEngine <= TOL, `onnx vs engine ${dEngine}`);
    for (let b = 0; b < B; b++) {
      const alone = await logitsOf(onnx, { tokens: windows.subarray(b * T, (b + 1) * T) });
      const d = maxAbsDiff(batched.subarray(b * T * V, (b + 1) * T * V), alone);
      t.diagnostic(`window ${b}: batched vs alone ${d.toExponential(2)}`);
      assert.ok(d <= TOL, `window ${b}: ${d}`);
    }
    const v = 300;
    const cut = await logitsOf(onnx, { tokens: windows, B, V: v });
    assert.equal(cut.length, B * T * v);
    for (let i = 0; i < B * T; i++) assert.deepEqual(cut.subarray(i * v, (i + 1) * v), batched.subarray(i * V, i * V + v), `row ${i}`);
    await assert.rejects(() => onnx.predict(req({ V: V + 1 })), /513 ids per row asked, its vocabulary has 512/);
    await assert.rejects(() => onnx.predict(req({ accept: ['hidden'] })), /gives logits, the caller accepts only hidden/);
  });
}

/** A copy of the plain model in a fresh folder with `edit` applied to its bytes, and the path. */
function editedModel(edit: (b: Buffer) => Buffer): string {
  const d = mkdtempSync(join(tmpdir(), 'distill-onnx-'));
  const p = join(d, 'model.onnx');
  writeFileSync(p, edit(readFileSync(PLAIN)));
  return p;
}

/** Renames every occurrence of the bytes `from` to `to` (same length: no protobuf length changes). */
function renamed(b: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const out = Buffer.from(b);
  for (let i = out.indexOf(from); i >= 0; i = out.indexOf(from, i + 1)) out.write(to, i);
  return out;
}

/** The model with graph input `name`'s element type set to `elemType` (ONNX TensorProto: 6 int32, 7 int64). */
function retyped(b: Buffer, name: string, elemType: number): Buffer {
  const out = Buffer.from(b);
  const graph = [...readProtoFields(out)].find((f) => f.field === 7)!.bytes;
  const input = [...readProtoFields(graph)].filter((f) => f.field === 11).map((f) => f.bytes)
    .find((i) => [...readProtoFields(i)].some((f) => f.field === 1 && Buffer.from(f.bytes).toString() === name))!;
  const tensorType = [...readProtoFields([...readProtoFields(input)].find((f) => f.field === 2)!.bytes)].find((f) => f.field === 1)!.bytes;
  assert.deepEqual([...tensorType.subarray(0, 2)], [0x08, 7], 'elem_type int64 first'); // field 1, varint
  tensorType[1] = elemType; // a view into `out`
  return out;
}

test('onnx teacher feeds int32 ids to a model whose input_ids are int32', { skip }, async () => {
  const onnx = (await openTeacher({ kind: 'onnx', path: editedModel((b) => retyped(b, 'input_ids', 6)) }, ctx))!;
  assert.ok(maxAbsDiff(await logitsOf(onnx), torchLogits) <= TOL);
});

test('onnx teacher reads tokenizer.json beside the model, and a different tokenizer is refused', { skip }, async () => {
  const d = mkdtempSync(join(tmpdir(), 'distill-onnx-'));
  mkdirSync(join(d, 'onnx'));
  copyFileSync(PLAIN, join(d, 'onnx', 'model.onnx')); // the transformers.js layout: onnx/model.onnx, tokenizer one up
  const gpt2 = '../shared/data/gpt2-tokenizer/tokenizer.json';
  const gpt2Identity = loadTokenizer(gpt2).identity();
  copyFileSync(gpt2, join(d, 'tokenizer.json'));
  await assert.rejects(() => openTeacher({ kind: 'onnx', path: d }, ctx),
    (e: unknown) => e instanceof TeacherError && e.message.includes(`speaks tokenizer ${gpt2Identity}`) && /is another vocabulary, so their ids do not match one to one\. Ways out/.test(e.message));
  copyFileSync(join(dir, 'kv', 'config.json'), join(d, 'config.json'));
  const gptCtx = { ...ctx, tokenizer: { identity: () => gpt2Identity, source: gpt2, vocabSize: 500 } };
  const t = (await openTeacher({ kind: 'onnx', path: d }, gptCtx))!;
  assert.equal(t.tokenizerIdentity, gpt2Identity);
  assert.equal(t.maxSeqLen, 512);
});

test('onnx teacher errors name the file and say what was expected', { skip }, async () => {
  const open = (path: string) => openTeacher({ kind: 'onnx', path }, ctx);
  const missing = join(dir, 'nope.onnx');
  await assert.rejects(() => open(missing), new RegExp(`test\\.yaml: teacher\\.path: no such ONNX model file or folder: .*nope\\.onnx`));
  await assert.rejects(() => open(join(dir)), /folder .*onnx holds none of model\.onnx, onnx\/model\.onnx; name the \.onnx file/);
  const text = editedModel(() => Buffer.from('this is not a model\n'));
  await assert.rejects(() => open(text), new RegExp(`${text}: not an ONNX model: it begins with bytes 74 68 69 73, not a field of an ONNX ModelProto`));
  await assert.rejects(() => open(editedModel(() => Buffer.alloc(0))), /not an ONNX model: the file is empty/);
  const cut = editedModel((b) => b.subarray(0, b.length >> 1));
  await assert.rejects(() => open(cut), new RegExp(`${cut}: onnxruntime could not load the model: .+`));
  const noLogits = editedModel((b) => renamed(b, 'logits', 'scores'));
  await assert.rejects(() => open(noLogits), new RegExp(`${noLogits}: no output named 'logits' \\(outputs: scores\\)`));
  const odd = editedModel((b) => renamed(b, 'input_ids', 'pixel_ids'));
  await assert.rejects(() => open(odd), new RegExp(`${odd}: cannot feed input 'pixel_ids' \\(int64 \\[batch_size, sequence_length\\]\\)`));
  const floatIds = editedModel((b) => retyped(b, 'input_ids', 1)); // onnxruntime's own checks, wrapped
  await assert.rejects(() => open(floatIds), new RegExp(`${floatIds}: onnxruntime could not load the model: .*Type 'tensor\\(float\\)' of input parameter \\(input_ids\\)`));
});
