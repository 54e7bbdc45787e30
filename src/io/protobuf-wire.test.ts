// The protobuf wire writer against its reader: negative int64 (ONNX axes such as -1) and nested
// messages written without a copy, byte for byte as protobuf encodes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtoWriter, readProtoFields } from './protobuf-wire.js';

test('int: negative values are ten bytes of two\'s complement and read back; non-negative ones stay short', () => {
  const w = new ProtoWriter().int(3, -1).int(3, -(2 ** 40)).int(3, 300);
  const bytes = w.finish();
  // protobuf encodes int64 -1 as key 0x18 then ff ff ff ff ff ff ff ff ff 01 (protobuf encoding docs).
  assert.deepEqual([...bytes.subarray(0, 11)], [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.deepEqual([...readProtoFields(bytes)].map((f) => [f.field, f.num]), [[3, -1], [3, -(2 ** 40)], [3, 300]]);
  assert.equal(bytes.length, 11 + 11 + 3);
  assert.throws(() => new ProtoWriter().int(1, -(2 ** 60)), /safe integer/);
});

test('message: a nested writer is framed by its length, the same bytes as bytes(field, inner.finish())', () => {
  const inner = () => new ProtoWriter().bytes(1, 'name').uint(2, 7).int(8, -1);
  const nested = new ProtoWriter().uint(1, 8).message(7, new ProtoWriter().message(1, inner())).finish();
  const copied = new ProtoWriter().uint(1, 8).bytes(7, new ProtoWriter().bytes(1, inner().finish()).finish()).finish();
  assert.deepEqual(nested, copied);
  const outer = [...readProtoFields(nested)];
  assert.equal(outer[1].field, 7);
  const mid = [...readProtoFields(outer[1].bytes)];
  assert.deepEqual([...readProtoFields(mid[0].bytes)].map((f) => f.field), [1, 2, 8]);
});
