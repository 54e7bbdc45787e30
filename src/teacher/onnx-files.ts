// The files of an ONNX teacher on disk: which .onnx a path means (a file, an export folder, or a
// transformers.js repo with onnx/model.onnx), whether its first bytes can be an ONNX ModelProto,
// the config.json and tokenizer.json that exporters write beside it, and a content hash of the
// model and its external-data files. It runs nothing; onnx-teacher.ts hands the file to onnxruntime.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TeacherError } from './teacher.js';

/** Looked for, in this order, when the path is a folder: an optimum export, then a transformers.js repo. */
const FOLDER_MODELS = ['model.onnx', join('onnx', 'model.onnx')];

/** The .onnx file `path` names: the file itself, or the first of FOLDER_MODELS in a folder. */
export function resolveOnnxPath(path: string, source: string): string {
  if (!existsSync(path)) throw new TeacherError(`${source}: teacher.path: no such ONNX model file or folder: ${path}`);
  if (!statSync(path).isDirectory()) return path;
  const found = FOLDER_MODELS.map((f) => join(path, f)).find((f) => existsSync(f));
  if (!found) throw new TeacherError(`${source}: teacher.path: folder ${path} holds none of ${FOLDER_MODELS.join(', ')}; name the .onnx file`);
  return found;
}

// ModelProto's fields (onnx.proto): number -> wire type (0 varint, 2 length-delimited).
const MODEL_PROTO_FIELDS = new Map([[1, 0], [2, 2], [3, 2], [4, 2], [5, 0], [6, 2], [7, 2], [8, 2], [14, 2], [20, 2], [25, 2], [26, 2]]);

/** Why the first bytes of a file cannot open an ONNX ModelProto, or null when they can: the first
 *  field must be one of ModelProto's with its wire type, and an ir_version must be 1..64. */
export function notOnnxReason(head: Uint8Array): string | null {
  if (head.length === 0) return 'the file is empty';
  const [tag, at] = varint(head, 0);
  if (tag === null) return 'it does not begin with a protobuf field';
  const field = Math.floor(tag / 8), wire = tag % 8;
  if (MODEL_PROTO_FIELDS.get(field) !== wire) return `it begins with bytes ${hex(head.subarray(0, 4))}, not a field of an ONNX ModelProto`;
  if (field === 1) {
    const [ir] = varint(head, at);
    if (ir === null || ir < 1 || ir > 64) return `its ir_version is ${ir ?? 'unreadable'}, expected 1..64`;
  }
  return null;
}

/** Throws unless `file`'s first bytes can be an ONNX model. */
export function checkLooksLikeOnnx(file: string): void {
  const fd = openSync(file, 'r');
  const head = new Uint8Array(16);
  let got: number;
  try {
    got = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const why = notOnnxReason(head.subarray(0, got));
  if (why) throw new TeacherError(`${file}: not an ONNX model: ${why}; expected a .onnx file (a protobuf ModelProto) as torch.onnx.export or optimum writes it`);
}

/** A file exporters write beside the model, looked for next to it and, for onnx/model.onnx, one folder up. */
export function besideModel(file: string, name: string): string | null {
  const dir = dirname(file);
  const candidates = basename(dir) === 'onnx' ? [join(dir, name), join(dirname(dir), name)] : [join(dir, name)];
  return candidates.find((c) => existsSync(c)) ?? null;
}

/** config.json beside the model, parsed; null when there is none. */
export function readConfigBeside(file: string): { path: string; config: Record<string, unknown> } | null {
  const path = besideModel(file, 'config.json');
  if (!path) return null;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TeacherError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new TeacherError(`${path}: expected a JSON object (a model config)`);
  return { path, config: config as Record<string, unknown> };
}

/** "sha256:<hex>" of the model file and its external-data files (model.onnx_data, model.onnx.data, ...:
 *  the files beside it whose names extend its own), read in 1 MiB pieces. */
export function onnxIdentity(file: string): string {
  const h = createHash('sha256').update('distill-onnx-teacher\n');
  const name = basename(file);
  const extra = readdirSync(dirname(file)).filter((f) => f !== name && f.startsWith(name)).sort();
  const buf = Buffer.alloc(1 << 20);
  for (const f of [name, ...extra]) {
    h.update(`${f}\n`);
    const fd = openSync(join(dirname(file), f), 'r');
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  return 'sha256:' + h.digest('hex');
}

function varint(b: Uint8Array, at: number): [number | null, number] {
  let v = 0;
  for (let shift = 0; at < b.length && shift < 35; shift += 7) {
    const c = b[at++];
    v += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return [v, at];
  }
  return [null, at];
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
