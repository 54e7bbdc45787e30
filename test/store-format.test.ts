// The teacher-store format without a teacher: bit packing, half floats, each value encoding's
// round trip within its stated error bound (f32 exact), the record sizes the docs quote, shard
// checksums catching a flipped byte, and the shard table of store.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBits, putBits, toHalf, fromHalf, encodeRecord, decodeRecord } from '../src/store/codec.js';
import { bitsFor, MANIFEST_FORMAT, MANIFEST_VERSION, recordLayout, logProbErrorBound, DEFAULT_LP_FLOOR, VALUE_ENCODINGS, type StoreSettings, type ValueEncoding } from '../src/store/format.js';
import { encodeShard, decodeShard } from '../src/store/shard-file.js';
import { planShards, readManifest } from '../src/store/manifest.js';
import { StoreError } from '../src/store/errors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTeacherLogitsSparse } from '../src/distill/index.js';
import { Rng } from '../src/engine/rng.js';

function settings(V: number, k: number, encoding: ValueEncoding): StoreSettings {
  return { teacherIdentity: 'sha256:t', teacherDescription: 't', tokenizerIdentity: 'sha256:v', vocabSize: V, k, topP: 1, temperature: 1, encoding, lpFloor: DEFAULT_LP_FLOOR, context: 8 };
}

test('putBits/getBits round-trip fields of every width 1..32 at every bit offset', () => {
  const rng = new Rng(3);
  const buf = new Uint8Array(600);
  const fields: [number, number, number][] = [];
  let pos = 0;
  for (let n = 1; n <= 32; n++) {
    for (let r = 0; r < 3; r++) {
      const v = n === 32 ? (rng.nextInt(2 ** 30) * 4 + 3) >>> 0 : rng.nextInt(2 ** n);
      fields.push([pos, v, n]);
      pos = putBits(buf, pos, v, n);
    }
  }
  for (const [p, v, n] of fields) assert.equal(getBits(buf, p, n), v, `width ${n} at bit ${p}`);
});

test('half floats: exact IEEE bit patterns and ≤ 2^-11 relative rounding error', () => {
  // bit patterns from the IEEE 754 binary16 definition (1.0 = 0x3c00, -2 = 0xc000, max 65504 = 0x7bff, 2^-24 = 0x0001)
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(2 ** -24), 0x0001);
  assert.equal(toHalf(1e6), 0x7c00);
  assert.equal(fromHalf(0x3555), 0.333251953125); // nearest half to 1/3
  const rng = new Rng(5);
  for (let i = 0; i < 2000; i++) {
    const x = -20 * rng.nextFloat();
    if (Math.abs(x) < 2 ** -14) continue;
    assert.ok(Math.abs(fromHalf(toHalf(x)) - x) <= Math.abs(x) * 2 ** -11, `${x}`);
  }
});

test('record sizes: k=32 at V=512 in q6 is 63 bytes (the ≤ 64 bytes/token target); f32 is 4·k + 4 + ids', () => {
  // 6 count bits + 32·9 id bits + 6 lo bits + 32·6 value bits + 12 tail bits = 504 bits
  assert.equal(recordLayout(512, 32, 'q6').recordBytes, 63);
  // 10 + 512·9 + 512·32 + 32 = 21,034 bits -> 2630 bytes
  assert.equal(recordLayout(512, 512, 'f32').recordBytes, 2630);
  // 4 + 8·9 + 8·16 + 16 = 220 bits -> 28 bytes
  assert.equal(recordLayout(512, 8, 'f16').recordBytes, 28);
  assert.throws(() => recordLayout(512, 513, 'q6'), /k = 513 must be an integer in \[1, V=512\]/);
});

for (const enc of VALUE_ENCODINGS) {
  test(`encoding ${enc}: ids exact, log-probs within the stated bound, mass renormalized`, () => {
    const V = 300, k = 24, N = 40;
    const rng = new Rng(11);
    const logits = new Float32Array(N * V);
    for (let i = 0; i < N; i++) { const scale = 1 + 6 * rng.nextFloat(); for (let j = 0; j < V; j++) logits[i * V + j] = scale * rng.nextNormal(); }
    const ids = new Int32Array(N * k), lps = new Float32Array(N * k), tail = new Float32Array(N);
    processTeacherLogitsSparse(ids, lps, tail, logits, N, V, k, { topP: 0.9, tailBucket: true });
    const s = settings(V, k, enc), L = recordLayout(V, k, enc);
    const buf = new Uint8Array(N * L.recordBytes);
    for (let i = 0; i < N; i++) encodeRecord(buf, i * L.recordBytes, ids, lps, i * k, tail[i], L, s);
    const dIds = new Int32Array(N * k), dLps = new Float32Array(N * k);
    for (let i = 0; i < N; i++) {
      const t = decodeRecord(dIds, dLps, i * k, buf, i * L.recordBytes, L, s);
      let lo = 0, mass = t;
      for (let e = 0; e < k; e++) {
        assert.equal(dIds[i * k + e], ids[i * k + e]);
        if (ids[i * k + e] < 0) { assert.equal(dLps[i * k + e], -Infinity); continue; }
        lo = Math.min(lo, lps[i * k + e]);
        mass += Math.exp(dLps[i * k + e]);
      }
      if (enc === 'f32') {
        assert.equal(t, tail[i]);
        for (let e = 0; e < k; e++) assert.equal(dLps[i * k + e], lps[i * k + e]);
        continue;
      }
      assert.ok(Math.abs(mass - 1) < 1e-5, `row ${i}: Σp + tail = ${mass}`);
      // renormalization adds one shift bounded by the per-value bound plus the tail's rounding
      const bound = 2 * logProbErrorBound(enc, lo) + 2 * Math.abs(t - tail[i]) / (1 - tail[i]) + 1e-6;
      for (let e = 0; e < k; e++) {
        if (ids[i * k + e] < 0) continue;
        assert.ok(Math.abs(dLps[i * k + e] - lps[i * k + e]) <= bound, `${enc} row ${i} slot ${e}: ${dLps[i * k + e]} vs ${lps[i * k + e]} (bound ${bound})`);
      }
      assert.ok(Math.abs(t - tail[i]) <= (enc === 'f16' ? tail[i] * 2 ** -11 + 1e-7 : 2 ** -13), `tail ${t} vs ${tail[i]}`);
    }
  });
}

test('a shard with one flipped byte fails its checksum; version and magic are checked', () => {
  const s = settings(512, 4, 'q6');
  const L = recordLayout(512, 4, 'q6');
  const header = { settings: s, corpusIdentity: 'sha256:c', shard: { index: 0, split: 'train' as const, start: 0, count: 3 }, recordBytes: L.recordBytes };
  const bytes = encodeShard(header, new Uint8Array(3 * L.recordBytes).fill(7));
  assert.equal(decodeShard('x.dkd', bytes).records.length, 3 * L.recordBytes);
  for (const at of [20, bytes.length - 10, bytes.length - 2]) {
    const bad = bytes.slice();
    bad[at] ^= 0x10;
    assert.throws(() => decodeShard('x.dkd', bad), /x\.dkd: checksum mismatch .* re-run `distill cache`/);
  }
  const v2 = bytes.slice();
  new DataView(v2.buffer).setUint32(8, 2, true);
  assert.throws(() => decodeShard('x.dkd', v2), /shard format version 2, this distill reads version 1/);
  const other = bytes.slice(); other[0] = 0x41;
  assert.throws(() => decodeShard('x.dkd', other), /not a distill teacher-store shard/);
  assert.throws(() => decodeShard('x.dkd', bytes, { settings: { ...s, k: 8 }, corpusIdentity: 'sha256:c', shard: { ...header.shard, file: 'x.dkd' } }),
    /setting 'k' is 4 but the store's is 8/);
});

test('the shard table cuts each split from its own start; the last shard of a split is short', () => {
  const plan = planShards([{ name: 'train', start: 0, length: 10 }, { name: 'val', start: 10, length: 5 }], 4);
  assert.deepEqual(plan.map((s) => [s.index, s.split, s.start, s.count]), [
    [0, 'train', 0, 4], [1, 'train', 4, 4], [2, 'train', 8, 2], [3, 'val', 10, 4], [4, 'val', 14, 1],
  ]);
  assert.equal(plan[3].file, 'shard-00003.dkd');
});

// Found by `npm run fuzz` (store target, seed 2026): a vocabulary of 2^31 hung in bitsFor (1 << 31
// wraps negative), a split of 10^9 positions built a 4-million-entry table before comparing it, a
// k of 0 in a shard header was refused naming no file.
test('store.json and shard headers that lie are refused fast, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-store-lie-'));
  try {
    const base = {
      format: MANIFEST_FORMAT, version: MANIFEST_VERSION, settings: settings(512, 4, 'f16'), corpusIdentity: 'sha256:x', corpusSource: 'c.txt',
      splits: [{ name: 'train', start: 0, length: 300 }, { name: 'val', start: 300, length: 40 }], shardPositions: 256,
    };
    const write = (m: object) => writeFileSync(join(dir, 'store.json'), JSON.stringify(m));
    write({ ...base, shards: planShards(base.splits as never, 256) });
    assert.equal(readManifest(dir).shards.length, 3);
    const p = join(dir, 'store.json');
    const cases: [object, RegExp][] = [
      [{ ...base, settings: settings(2 ** 31, 4, 'f16') }, /vocabulary size must be an integer in \[2, 4194304\], got 2147483648/],
      [{ ...base, splits: [{ name: 'train', start: 0, length: 1e9 }, base.splits[1]] }, /splits must be train from position 0, then val right after it/],
      [{ ...base, splits: [base.splits[0], { name: 'val', start: 300, length: 1e12 }] }, /make 3906250002 shards, the table lists 3/],
      [{ ...base, shardPositions: null }, /key 'shardPositions'/],
      [{ ...base, settings: { ...settings(512, 4, 'f16'), k: 0 } }, /k = 0 must be an integer in \[1, V=512\]/],
    ];
    for (const [m, want] of cases) {
      write({ shards: planShards(base.splits as never, 256), ...m });
      const t0 = performance.now();
      assert.throws(() => readManifest(dir), (e: Error) => e instanceof StoreError && e.message.startsWith(p) && want.test(e.message), JSON.stringify(m).slice(0, 200));
      assert.ok(performance.now() - t0 < 2000, 'refused without building the table');
    }
    assert.equal(bitsFor(2 ** 31), 31);
    assert.equal(bitsFor(2 ** 31 + 1), 32);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
