// planFeeds / feeds of onnx-feeds.ts and the ONNX first-bytes check of onnx-files.ts, on metadata
// written out by hand (what onnxruntime reports for an optimum Llama export with its cache dims left
// symbolic, which the committed fixtures do not show): dims from config.json, the errors naming the
// input or config key, and the tensors fed. No onnxruntime here; test/onnx-teacher.test.ts runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feeds, planFeeds, type OnnxValueInfo } from './onnx-feeds.js';
import { notOnnxReason } from './onnx-files.js';

const F = 'm.onnx';
const ids: OnnxValueInfo = { name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] };
const logits: OnnxValueInfo = { name: 'logits', type: 'float32', shape: ['batch_size', 'sequence_length', 'vocab'] };
const past = (l: number, part: string, shape: (number | string)[] = ['batch_size', 'kv', 'past', 'hd']): OnnxValueInfo =>
  ({ name: `past_key_values.${l}.${part}`, type: 'float32', shape });
const optimum: OnnxValueInfo[] = [ids, { name: 'attention_mask', type: 'int64', shape: ['batch_size', 'total'] },
  { name: 'position_ids', type: 'int32', shape: ['batch_size', 'sequence_length'] }, past(0, 'key'), past(0, 'value'),
  { name: 'use_cache_branch', type: 'bool', shape: [1] }];
const llama = { path: 'config.json', config: { hidden_size: 64, num_attention_heads: 8, num_key_value_heads: 4 } };

test('an optimum layout with symbolic cache dims is fed from config.json: ids, ones, positions, empty cache, no-cache branch', () => {
  const plan = planFeeds(F, optimum, [logits, { name: 'present.0.key', type: 'float32', shape: [] }], llama);
  assert.equal(plan.vocabSize, null); // symbolic: learnt from the first run
  assert.deepEqual(plan.inputs.map((i) => [i.name, i.role, i.type, i.kvDims]), [
    ['input_ids', 'ids', 'int64', undefined], ['attention_mask', 'mask', 'int64', undefined], ['position_ids', 'positions', 'int32', undefined],
    ['past_key_values.0.key', 'past', 'float32', [4, 8]], ['past_key_values.0.value', 'past', 'float32', [4, 8]],
    ['use_cache_branch', 'cacheBranch', 'bool', undefined]]);
  const f = feeds(plan, Int32Array.from([5, 6, 7, 8, 9, 10]), 2, 3);
  assert.deepEqual(f.input_ids, { type: 'int64', data: BigInt64Array.from([5n, 6n, 7n, 8n, 9n, 10n]), dims: [2, 3] });
  assert.deepEqual(f.attention_mask, { type: 'int64', data: new BigInt64Array(6).fill(1n), dims: [2, 3] });
  assert.deepEqual(f.position_ids, { type: 'int32', data: Int32Array.from([0, 1, 2, 0, 1, 2]), dims: [2, 3] });
  assert.deepEqual(f['past_key_values.0.key'], { type: 'float32', data: new Float32Array(0), dims: [2, 4, 0, 8] });
  assert.deepEqual(f.use_cache_branch, { type: 'bool', data: Uint8Array.from([0]), dims: [1] });
});

test('fixed cache dims and vocabulary come from the metadata; head_dim and GPT-2 names from config.json', () => {
  const fixed = planFeeds(F, [ids, past(0, 'key', ['b', 2, 'p', 16])], [{ ...logits, shape: ['b', 's', 50257] }], null);
  assert.equal(fixed.vocabSize, 50257);
  assert.deepEqual(fixed.inputs[1].kvDims, [2, 16]);
  const gpt2 = planFeeds(F, [ids, past(0, 'value')], [logits], { path: 'c.json', config: { n_embd: 768, n_head: 12 } });
  assert.deepEqual(gpt2.inputs[1].kvDims, [12, 64]);
  const explicit = planFeeds(F, [ids, past(0, 'value')], [logits], { path: 'c.json', config: { ...llama.config, head_dim: 32 } });
  assert.deepEqual(explicit.inputs[1].kvDims, [4, 32]);
});

test('what cannot be fed is refused with the input, output or config key named', () => {
  assert.throws(() => planFeeds(F, optimum, [logits], null), /m\.onnx: input 'past_key_values\.0\.key' leaves its kv heads \(axis 1\) symbolic \('kv'\) and there is no config\.json/);
  assert.throws(() => planFeeds(F, optimum, [logits], { path: 'c.json', config: { num_attention_heads: 8 } }),
    /c\.json: needs head_dim, or hidden_size \(n_embd\) and num_attention_heads \(n_head\) \(positive integers\) for the head dim of input 'past_key_values\.0\.key' of m\.onnx/);
  assert.throws(() => planFeeds(F, [ids, { name: 'token_type_ids', type: 'int64', shape: ['b', 's'] }], [logits], null),
    /m\.onnx: cannot feed input 'token_type_ids' \(int64 \[b, s\]\); the onnx teacher feeds input_ids, attention_mask/);
  assert.throws(() => planFeeds(F, [{ ...ids, type: 'float32' }], [logits], null), /input 'input_ids' is float32, expected int64 or int32/);
  assert.throws(() => planFeeds(F, [{ name: 'attention_mask', type: 'int64', shape: [] }], [logits], null), /no input named 'input_ids' \(inputs: attention_mask\)/);
  assert.throws(() => planFeeds(F, [ids], [{ ...logits, name: 'last_hidden_state' }], null), /no output named 'logits' \(outputs: last_hidden_state\)/);
  assert.throws(() => planFeeds(F, [ids], [{ ...logits, type: 'float16' }], null), /output 'logits' is float16, expected float32/);
  assert.throws(() => planFeeds(F, [ids], [{ ...logits, shape: ['b', 'v'] }], null), /output 'logits' has shape \[b, v\], expected \(batch, sequence, vocab\)/);
});

test('an ONNX ModelProto begins with one of its fields; text, empty and odd ir_versions do not', () => {
  assert.equal(notOnnxReason(Uint8Array.from([0x08, 0x07, 0x12, 0x07])), null); // ir_version 7, producer_name: what torch.onnx.export writes
  assert.equal(notOnnxReason(Uint8Array.from([0x3a, 0x05])), null); // graph first
  assert.equal(notOnnxReason(new Uint8Array(0)), 'the file is empty');
  assert.match(notOnnxReason(new TextEncoder().encode('{"a": 1}'))!, /begins with bytes 7b 22 61 22, not a field of an ONNX ModelProto/);
  assert.match(notOnnxReason(Uint8Array.from([0x08, 0x00]))!, /ir_version is 0, expected 1\.\.64/);
  assert.match(notOnnxReason(Uint8Array.from([0x80, 0x80]))!, /does not begin with a protobuf field/);
});
