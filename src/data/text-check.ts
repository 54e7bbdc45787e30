// Refuses a corpus that is not text before anything is tokenized or trained on: a model file or
// random bytes given as `data.path` would otherwise train to exit 0 on garbage. Text here is
// UTF-8 without NUL bytes; a few invalid sequences (a damaged line) are tolerated, a body of them
// is not. Checks only; it reads nothing and splits nothing.
import { DataError } from './errors.js';

/** Formats whose first bytes say "this is a model or an archive, not text". */
const BINARY_HEADS: [name: string, test: (b: Uint8Array) => boolean][] = [
  ['a GGUF model', (b) => b.length >= 4 && b[0] === 0x47 && b[1] === 0x47 && b[2] === 0x55 && b[3] === 0x46],
  ['a llama2.c v1/v2 checkpoint', (b) => b.length >= 4 && b[0] === 0x32 && b[1] === 0x34 && b[2] === 0x6b && b[3] === 0x61],
  ['a safetensors file', (b) => b.length >= 9 && b[8] === 0x7b && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0],
  ['a gzip archive', (b) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b],
  ['a zip archive', (b) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04],
  ['an ELF binary', (b) => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46],
];

/** Share of invalid UTF-8 (replacement characters) above which a file is not text. */
const MAX_INVALID_SHARE = 0.01;

/** Throws one DataError naming the file when `bytes` are not a text corpus. */
export function checkIsText(path: string, bytes: Uint8Array): void {
  for (const [name, test] of BINARY_HEADS) {
    if (test(bytes)) throw new DataError(path, `is ${name}, not a text corpus; give a text (.txt, paragraphs) or JSONL file as data.path`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new DataError(path, `holds a NUL byte at offset ${nul}: binary, not a text corpus; give a UTF-8 text or JSONL file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return;
  } catch {
    text = new TextDecoder('utf-8').decode(bytes);
  }
  let bad = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) bad++;
  if (bad > MAX_INVALID_SHARE * text.length) {
    throw new DataError(path, `${bad} of ${text.length} characters (${((100 * bad) / text.length).toFixed(1)} %) are invalid UTF-8: not a UTF-8 text corpus (re-encode it, e.g. iconv -f latin1 -t utf-8)`);
  }
}
