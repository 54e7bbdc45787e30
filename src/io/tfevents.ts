// TensorBoard event files: a writer (scalars and text summaries) and a verifying reader.
// A file is a sequence of TFRecords: u64 length, u32 masked CRC-32C of the length bytes, the
// data (one serialized tensorflow.Event), u32 masked CRC-32C of the data; all little-endian.
// Not covered: histograms, images, graphs, other plugins; the reader decodes only the fields the
// writer writes (wall_time, step, file_version, summary values with simple_value or text).

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { maskedCrc32c } from './crc32c.js';
import { FormatError } from './errors.js';
import { ProtoWriter, readProtoFields } from './protobuf-wire.js';

/** The version string TensorBoard expects in the first event of every file. */
export const TFEVENTS_FILE_VERSION = 'brain.Event:2';

// Field numbers from tensorflow/core/util/event.proto, framework/summary.proto, tensor.proto.
const EVENT = { wallTime: 1, step: 2, fileVersion: 3, summary: 5 } as const;
const SUMMARY = { value: 1 } as const;
const VALUE = { tag: 1, simpleValue: 2, tensor: 8, metadata: 9 } as const;
const METADATA = { pluginData: 1, dataClass: 4 } as const;
const PLUGIN_DATA = { pluginName: 1, content: 2 } as const;
const TENSOR = { dtype: 1, tensorShape: 2, stringVal: 8 } as const;
/** tensorflow.DataType.DT_STRING */
const DT_STRING = 7;
/** tensorboard SummaryMetadata DataClass.DATA_CLASS_TENSOR: what the text plugin reads. */
const DATA_CLASS_TENSOR = 2;

/** One summary value as read back: a scalar (`simpleValue`) or a text summary (`text`). */
export interface TfEventValue {
  tag: string;
  simpleValue?: number;
  text?: string;
  pluginName?: string;
}

export interface TfEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  /** Set on the first event of a file only. */
  fileVersion?: string;
  values: TfEventValue[];
}

/** A record whose length or data checksum does not match; names the file and the record index. */
export class TfEventsCrcError extends FormatError {
  readonly recordIndex: number;
  constructor(file: string, recordIndex: number, what: 'length' | 'data', stored: number, computed: number) {
    super(
      file,
      `record ${recordIndex}: ${what} CRC mismatch (stored 0x${stored.toString(16).padStart(8, '0')}, ` +
        `computed 0x${computed.toString(16).padStart(8, '0')}); the file is corrupt from this record on`,
    );
    this.name = 'TfEventsCrcError';
    this.recordIndex = recordIndex;
  }
}

// ---------------------------------------------------------------- encoding

function encodeValue(v: TfEventValue): ProtoWriter {
  const w = new ProtoWriter().bytes(VALUE.tag, v.tag);
  if (v.text !== undefined) {
    const tensor = new ProtoWriter()
      .uint(TENSOR.dtype, DT_STRING)
      .message(TENSOR.tensorShape, new ProtoWriter()) // rank-0 shape: an empty TensorShapeProto
      .bytes(TENSOR.stringVal, v.text);
    const plugin = new ProtoWriter().bytes(PLUGIN_DATA.pluginName, v.pluginName ?? 'text').bytes(PLUGIN_DATA.content, new Uint8Array(0));
    w.message(VALUE.metadata, new ProtoWriter().message(METADATA.pluginData, plugin).uint(METADATA.dataClass, DATA_CLASS_TENSOR));
    w.message(VALUE.tensor, tensor);
  } else if (v.simpleValue !== undefined) {
    w.float(VALUE.simpleValue, v.simpleValue);
  } else {
    throw new TypeError(`summary value '${v.tag}' has neither simpleValue nor text`);
  }
  return w;
}

/** Serializes one tensorflow.Event. */
export function encodeEvent(e: TfEvent): Uint8Array {
  const w = new ProtoWriter().double(EVENT.wallTime, e.wallTime);
  if (e.step !== 0) w.uint(EVENT.step, e.step);
  if (e.fileVersion !== undefined) w.bytes(EVENT.fileVersion, e.fileVersion);
  if (e.values.length > 0) {
    const s = new ProtoWriter();
    for (const v of e.values) s.message(SUMMARY.value, encodeValue(v));
    w.message(EVENT.summary, s);
  }
  return w.finish();
}

/** Frames `data` as one TFRecord: length, masked CRC of length, data, masked CRC of data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length >>> 0, true);
  dv.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---------------------------------------------------------------- writer

export interface TfEventsWriterOptions {
  /** Write buffered records to disk once this many are pending. Default 32: a few steps' worth. */
  flushEveryRecords?: number;
  /** ...or once the oldest pending record is this old (also checked by an unref'd timer). Default 10 s, TensorBoard's own reload cadence is 5-30 s. */
  flushEverySeconds?: number;
  /** Host part of the file name. Default os.hostname(). */
  host?: string;
  /** Clock in milliseconds, for tests. Default Date.now. */
  now?: () => number;
}

/**
 * Appends events to a new file `events.out.tfevents.<secs>.<host>` in `dir` (created if needed;
 * a `.N` suffix is added if that name is taken). Writes are synchronous; records are buffered
 * and flushed every N records / S seconds and on close().
 */
export class TfEventsWriter {
  readonly path: string;
  private fd: number;
  private pending: Uint8Array[] = [];
  private oldestPendingMs = 0;
  private readonly flushEveryRecords: number;
  private readonly flushEveryMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(dir: string, opts: TfEventsWriterOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.flushEveryRecords = opts.flushEveryRecords ?? 32;
    this.flushEveryMs = (opts.flushEverySeconds ?? 10) * 1000;
    if (!(this.flushEveryRecords >= 1)) throw new RangeError(`flushEveryRecords must be >= 1, got ${opts.flushEveryRecords}`);
    mkdirSync(dir, { recursive: true });
    const host = (opts.host ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_');
    const base = join(dir, `events.out.tfevents.${Math.floor(this.now() / 1000)}.${host}`);
    let path = base;
    for (let n = 1; existsSync(path); n++) path = `${base}.${n}`;
    this.path = path;
    this.fd = openSync(path, 'wx');
    this.push({ wallTime: this.now() / 1000, step: 0, fileVersion: TFEVENTS_FILE_VERSION, values: [] });
    this.flush();
    if (this.flushEveryMs > 0 && Number.isFinite(this.flushEveryMs)) {
      this.timer = setInterval(() => this.maybeFlush(), this.flushEveryMs);
      this.timer.unref();
    }
  }

  private push(e: TfEvent): void {
    if (this.fd < 0) throw new FormatError(this.path, 'write after close()');
    if (this.pending.length === 0) this.oldestPendingMs = this.now();
    this.pending.push(frameRecord(encodeEvent(e)));
    this.maybeFlush();
  }

  private maybeFlush(): void {
    if (this.pending.length === 0) return;
    if (this.pending.length >= this.flushEveryRecords || this.now() - this.oldestPendingMs >= this.flushEveryMs) this.flush();
  }

  /** One event holding every scalar of `values` (tag -> value, stored as f32). */
  addScalars(step: number, values: Record<string, number>, wallTime = this.now() / 1000): void {
    const vals = Object.entries(values).map(([tag, simpleValue]) => ({ tag, simpleValue }));
    if (vals.length > 0) this.push({ wallTime, step, values: vals });
  }

  /** One text summary (TensorBoard "Text" tab; rendered as markdown there). */
  addText(step: number, tag: string, text: string, wallTime = this.now() / 1000): void {
    this.push({ wallTime, step, values: [{ tag, text }] });
  }

  /** Writes every pending record. */
  flush(): void {
    if (this.fd < 0 || this.pending.length === 0) return;
    const total = this.pending.reduce((s, b) => s + b.length, 0);
    const buf = Buffer.allocUnsafe(total);
    let o = 0;
    for (const b of this.pending) {
      buf.set(b, o);
      o += b.length;
    }
    this.pending = [];
    let written = 0;
    while (written < total) written += writeSync(this.fd, buf, written, total - written);
  }

  /** Flushes and closes the file; further writes throw. Safe to call twice. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

// ---------------------------------------------------------------- reader

function decodeValue(file: string, index: number, bytes: Uint8Array): TfEventValue {
  const v: TfEventValue = { tag: '' };
  const td = new TextDecoder();
  for (const f of readProtoFields(bytes)) {
    if (f.field === VALUE.tag && f.wireType === 2) v.tag = td.decode(f.bytes);
    else if (f.field === VALUE.simpleValue && f.wireType === 5) v.simpleValue = f.num;
    else if (f.field === VALUE.metadata && f.wireType === 2) {
      for (const m of readProtoFields(f.bytes)) {
        if (m.field !== METADATA.pluginData || m.wireType !== 2) continue;
        for (const p of readProtoFields(m.bytes)) if (p.field === PLUGIN_DATA.pluginName && p.wireType === 2) v.pluginName = td.decode(p.bytes);
      }
    } else if (f.field === VALUE.tensor && f.wireType === 2) {
      let dtype = 0;
      const strings: string[] = [];
      for (const t of readProtoFields(f.bytes)) {
        if (t.field === TENSOR.dtype && t.wireType === 0) dtype = t.num;
        else if (t.field === TENSOR.stringVal && t.wireType === 2) strings.push(td.decode(t.bytes));
      }
      if (dtype === DT_STRING) v.text = strings.join('\n');
    }
  }
  if (v.tag === '') throw new FormatError(file, `record ${index}: summary value without a tag`);
  return v;
}

/** Decodes one serialized tensorflow.Event (unknown fields are skipped). */
export function decodeEvent(bytes: Uint8Array, file = '<memory>', index = 0): TfEvent {
  const e: TfEvent = { wallTime: 0, step: 0, values: [] };
  try {
    for (const f of readProtoFields(bytes)) {
      if (f.field === EVENT.wallTime && f.wireType === 1) e.wallTime = f.num;
      else if (f.field === EVENT.step && f.wireType === 0) e.step = f.num;
      else if (f.field === EVENT.fileVersion && f.wireType === 2) e.fileVersion = new TextDecoder().decode(f.bytes);
      else if (f.field === EVENT.summary && f.wireType === 2) {
        for (const s of readProtoFields(f.bytes)) if (s.field === SUMMARY.value && s.wireType === 2) e.values.push(decodeValue(file, index, s.bytes));
      }
    }
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(file, `record ${index}: malformed Event protobuf: ${(err as Error).message}`);
  }
  return e;
}

/** One record's place in a file: where it starts and ends, and its decoded event. */
interface RecordSpan { start: number; end: number; event: TfEvent }

/**
 * Walks the records of `buf` from the start. Stops (without throwing) at the first record that is
 * torn or fails a checksum when `lenient`; otherwise throws as readTfEvents documents.
 */
function walkRecords(path: string, buf: Buffer, lenient: boolean): RecordSpan[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const spans: RecordSpan[] = [];
  let pos = 0;
  for (let index = 0; pos < buf.length; index++) {
    try {
      if (pos + 12 > buf.length) throw new FormatError(path, `record ${index}: truncated header at byte ${pos} (${buf.length - pos} of 12 bytes)`);
      const lenCrc = maskedCrc32c(buf.subarray(pos, pos + 8));
      const storedLenCrc = dv.getUint32(pos + 8, true);
      if (lenCrc !== storedLenCrc) throw new TfEventsCrcError(path, index, 'length', storedLenCrc, lenCrc);
      const len = dv.getUint32(pos, true) + dv.getUint32(pos + 4, true) * 2 ** 32;
      const start = pos + 12;
      if (start + len + 4 > buf.length) throw new FormatError(path, `record ${index}: truncated data at byte ${start} (length ${len}, ${buf.length - start} bytes left)`);
      const data = buf.subarray(start, start + len);
      const dataCrc = maskedCrc32c(data);
      const storedDataCrc = dv.getUint32(start + len, true);
      if (dataCrc !== storedDataCrc) throw new TfEventsCrcError(path, index, 'data', storedDataCrc, dataCrc);
      spans.push({ start: pos, end: start + len + 4, event: decodeEvent(data, path, index) });
      pos = start + len + 4;
    } catch (e) {
      if (lenient && e instanceof FormatError) break;
      throw e;
    }
  }
  if (spans.length > 0 && spans[0].event.fileVersion === undefined) {
    throw new FormatError(path, `record 0 has no file_version; expected '${TFEVENTS_FILE_VERSION}' (is this a TensorBoard event file?)`);
  }
  return spans;
}

/**
 * Reads every event of one file, verifying the length CRC and the data CRC of every record.
 * Throws TfEventsCrcError (file + record index) on a mismatch, FormatError on a truncated record,
 * a malformed Event, or a first record without a file_version (not an event file).
 */
export function readTfEvents(path: string): TfEvent[] {
  return walkRecords(path, readFileSync(path), false).map((r) => r.event);
}

/**
 * Cuts an event file back to its records of steps ≤ `step` (the file_version record, step 0, stays),
 * dropping a torn or damaged tail: what a run resumed from the checkpoint of `step` does to the
 * event files of its earlier sessions, so that the run's events equal an uninterrupted run's.
 * Steps only grow within a file, so this is a truncation. Returns the number of bytes dropped.
 */
export function truncateTfEvents(path: string, step: number): number {
  const buf = readFileSync(path);
  const spans = walkRecords(path, buf, true);
  const keep = spans.findIndex((r) => r.event.step > step);
  const end = keep < 0 ? (spans.at(-1)?.end ?? 0) : spans[keep].start;
  if (end === buf.length) return 0;
  writeFileAtomic(path, buf.subarray(0, end));
  return buf.length - end;
}
