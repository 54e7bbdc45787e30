// TensorBoard event files: CRC-32C known answers, the record framing, a write/read round trip of
// scalars and text with every record's CRCs re-verified here, corruption detection naming the
// record, the flush policy and file naming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { crc32c, maskCrc, maskedCrc32c } from '../src/io/crc32c.js';
import { FormatError } from '../src/io/errors.js';
import { decodeEvent, encodeEvent, frameRecord, readTfEvents, TfEventsCrcError, TfEventsWriter, TFEVENTS_FILE_VERSION, truncateTfEvents } from '../src/io/tfevents.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'distill-tfevents-'));

/** Walks the TFRecord framing independently of readTfEvents; returns each record's data. */
function verifyRecords(path: string): Uint8Array[] {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const len = dv.getUint32(pos, true);
    assert.equal(dv.getUint32(pos + 4, true), 0, 'length high word');
    assert.equal(dv.getUint32(pos + 8, true), maskCrc(crc32c(buf.subarray(pos, pos + 8))), `length CRC of record ${out.length}`);
    const data = buf.subarray(pos + 12, pos + 12 + len);
    assert.equal(dv.getUint32(pos + 12 + len, true), maskCrc(crc32c(data)), `data CRC of record ${out.length}`);
    out.push(data);
    pos += 16 + len;
  }
  assert.equal(pos, buf.length);
  return out;
}

test('crc32c known answers', () => {
  // "123456789": the CRC-32C check value of the CRC catalogue (CRC-32/ISCSI, check=0xe3069283).
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('the TFRecord mask is rotate-right-15 plus 0xa282ead8', () => {
  // Hand-derived: rotr15(0) = 0; rotr15(0x8000) = 1; rotr15(1) = 0x00020000.
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0x8000), 0xa282ead9);
  assert.equal(maskCrc(1), (0x00020000 + 0xa282ead8) >>> 0);
  assert.equal(maskCrc(0xffffffff), (0xffffffff + 0xa282ead8) % 2 ** 32); // wraps mod 2^32
  const bytes = new TextEncoder().encode('123456789');
  assert.equal(maskedCrc32c(bytes), maskCrc(0xe3069283));
});

test('Event encoding matches hand-assembled protobuf bytes', () => {
  // wall_time=1.0: key (1<<3)|1 = 0x09, then f64 LE; step=5: key (2<<3)|0 = 0x10, varint 5;
  // file_version: key (3<<3)|2 = 0x1a, length 13, "brain.Event:2".
  const got = encodeEvent({ wallTime: 1, step: 5, fileVersion: TFEVENTS_FILE_VERSION, values: [] });
  const want = [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x05, 0x1a, 13, ...new TextEncoder().encode('brain.Event:2')];
  assert.deepEqual([...got], want);
  // summary (field 5) > value (field 1) > {tag (1) "a", simple_value (2, fixed32) 2.5f}
  const scalar = encodeEvent({ wallTime: 1, step: 0, values: [{ tag: 'a', simpleValue: 2.5 }] });
  assert.deepEqual([...scalar.subarray(9)], [0x2a, 10, 0x0a, 8, 0x0a, 1, 0x61, 0x15, 0x00, 0x00, 0x20, 0x40]);
  // A step above 2^32 survives (varint of 2^40 is 6 bytes).
  assert.equal(decodeEvent(encodeEvent({ wallTime: 2, step: 2 ** 40, values: [] })).step, 2 ** 40);
});

test('frameRecord lays out length, its masked CRC, data, data masked CRC', () => {
  const data = new TextEncoder().encode('hello');
  const rec = frameRecord(data);
  assert.equal(rec.length, 8 + 4 + 5 + 4);
  const dv = new DataView(rec.buffer);
  assert.equal(dv.getUint32(0, true), 5);
  assert.equal(dv.getUint32(8, true), maskedCrc32c(rec.subarray(0, 8)));
  assert.equal(new TextDecoder().decode(rec.subarray(12, 17)), 'hello');
  assert.equal(dv.getUint32(17, true), maskedCrc32c(data));
});

test('scalars and text round-trip with every record CRC verified', () => {
  const dir = tmp();
  try {
    let now = 1_700_000_000_000;
    const w = new TfEventsWriter(dir, { host: 'testhost', now: () => now });
    assert.match(basename(w.path), /^events\.out\.tfevents\.1700000000\.testhost$/);
    w.addScalars(10, { 'train/loss': 2.5, 'train/lr': 0.125 });
    now += 1000;
    w.addScalars(20, { 'train/loss': 3.14159, 'val/loss': 1e-7 });
    w.addText(20, 'samples/0', 'Once upon a time — ünïcode ✓');
    w.close();
    w.close(); // idempotent

    const raw = verifyRecords(w.path);
    assert.equal(raw.length, 4);
    const events = readTfEvents(w.path);
    assert.equal(events.length, 4);
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    assert.equal(events[0].wallTime, 1_700_000_000);
    assert.deepEqual(events[1], { wallTime: 1_700_000_000, step: 10, values: [{ tag: 'train/loss', simpleValue: 2.5 }, { tag: 'train/lr', simpleValue: 0.125 }] });
    assert.equal(events[2].step, 20);
    assert.equal(events[2].wallTime, 1_700_000_001);
    // simple_value is a protobuf float: the exact value read back is the f32 rounding.
    assert.deepEqual(events[2].values, [
      { tag: 'train/loss', simpleValue: Math.fround(3.14159) },
      { tag: 'val/loss', simpleValue: Math.fround(1e-7) },
    ]);
    assert.deepEqual(events[3].values, [{ tag: 'samples/0', text: 'Once upon a time — ünïcode ✓', pluginName: 'text' }]);
    assert.throws(() => w.addScalars(30, { x: 1 }), /write after close/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flipped byte is detected and the record named', () => {
  const dir = tmp();
  try {
    const w = new TfEventsWriter(dir, { host: 'h', now: () => 5000 });
    for (let s = 1; s <= 3; s++) w.addScalars(s, { loss: s });
    w.close();
    const good = readFileSync(w.path);
    const offsets: number[] = [];
    for (let pos = 0; pos < good.length; pos += 16 + good.readUInt32LE(pos)) offsets.push(pos);
    assert.equal(offsets.length, 4);

    const dataFlip = Buffer.from(good);
    dataFlip[offsets[2] + 12 + 3] ^= 0x01; // inside record 2's data
    writeFileSync(w.path, dataFlip);
    assert.throws(() => readTfEvents(w.path), (e: unknown) => {
      assert.ok(e instanceof TfEventsCrcError);
      assert.equal(e.recordIndex, 2);
      assert.ok(e.message.includes(w.path));
      assert.match(e.message, /record 2: data CRC mismatch/);
      return true;
    });

    const lenFlip = Buffer.from(good);
    lenFlip[offsets[3]] ^= 0x40; // record 3's length
    writeFileSync(w.path, lenFlip);
    assert.throws(() => readTfEvents(w.path), /record 3: length CRC mismatch/);

    const crcFlip = Buffer.from(good);
    crcFlip[offsets[1] + 12 + good.readUInt32LE(offsets[1])] ^= 0x80; // record 1's stored data CRC
    writeFileSync(w.path, crcFlip);
    assert.throws(() => readTfEvents(w.path), /record 1: data CRC mismatch/);

    writeFileSync(w.path, good.subarray(0, good.length - 2));
    assert.throws(() => readTfEvents(w.path), (e: unknown) => e instanceof FormatError && /record 3: truncated data/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flush policy: every N records, after S seconds, on close', () => {
  const dir = tmp();
  try {
    let now = 0;
    const w = new TfEventsWriter(dir, { host: 'h', now: () => now, flushEveryRecords: 3, flushEverySeconds: 60 });
    assert.equal(readTfEvents(w.path).length, 1, 'the file_version record is written at once');
    w.addScalars(1, { a: 1 });
    w.addScalars(2, { a: 2 });
    assert.equal(readTfEvents(w.path).length, 1, 'two pending records stay buffered');
    w.addScalars(3, { a: 3 });
    assert.equal(readTfEvents(w.path).length, 4, 'the third record triggers a flush');
    w.addScalars(4, { a: 4 });
    now += 61_000;
    w.addScalars(5, { a: 5 });
    assert.equal(readTfEvents(w.path).length, 6, 'a record older than 60 s triggers a flush');
    w.addText(6, 't', 'x');
    assert.equal(readTfEvents(w.path).length, 6);
    w.close();
    assert.equal(readTfEvents(w.path).length, 7, 'close flushes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two writers in the same second get distinct files', () => {
  const dir = tmp();
  try {
    const a = new TfEventsWriter(dir, { host: 'h', now: () => 42_000 });
    const b = new TfEventsWriter(dir, { host: 'h', now: () => 42_000 });
    a.close();
    b.close();
    assert.deepEqual(readdirSync(dir).sort(), ['events.out.tfevents.42.h', 'events.out.tfevents.42.h.1']);
    assert.throws(() => new TfEventsWriter(dir, { flushEveryRecords: 0 }), /flushEveryRecords must be >= 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not an event file is refused', () => {
  const dir = tmp();
  try {
    const p = join(dir, 'x');
    writeFileSync(p, frameRecord(encodeEvent({ wallTime: 1, step: 1, values: [{ tag: 'a', simpleValue: 1 }] })));
    assert.throws(() => readTfEvents(p), /record 0 has no file_version/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncateTfEvents keeps the records of steps ≤ the resume step and drops a torn tail', () => {
  const dir = tmp();
  try {
    const w = new TfEventsWriter(dir, { host: 'h', now: () => 1_700_000_000_000, flushEveryRecords: 1 });
    for (let s = 1; s <= 6; s++) w.addScalars(s, { 'train/loss': 1 / s });
    w.addText(6, 'sample', 'once upon');
    w.close();
    const full = readFileSync(w.path);
    // A torn write after the last whole record: half of another record's bytes.
    writeFileSync(w.path, Buffer.concat([full, frameRecord(encodeEvent({ wallTime: 1, step: 7, values: [{ tag: 'x', simpleValue: 7 }] })).subarray(0, 9)]));
    assert.ok(truncateTfEvents(w.path, 4) > 0);
    const kept = readTfEvents(w.path);
    assert.deepEqual(kept.map((e) => e.step), [0, 1, 2, 3, 4]); // the file_version record is step 0
    assert.equal(kept[0].fileVersion, TFEVENTS_FILE_VERSION);
    assert.equal(truncateTfEvents(w.path, 4), 0, 'a second cut to the same step changes nothing');
    // A damaged record (one flipped data byte) ends the file there, whatever its step.
    const bytes = readFileSync(w.path);
    const last = verifyRecords(w.path).length - 1;
    bytes[bytes.length - 6] ^= 0x40;
    writeFileSync(w.path, bytes);
    truncateTfEvents(w.path, 100);
    assert.equal(readTfEvents(w.path).length, last);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
