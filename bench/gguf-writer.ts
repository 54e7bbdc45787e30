// A minimal GGUF v3 writer for the llama-cpp bench row only: one of our llama models (interleaved
// rotary, the llama2.c convention llama.cpp's 'llama' arch also uses, so q/k need no permutation)
// with a SentencePiece vocabulary, weights in F32 or F16 (norms stay F32, as llama.cpp wants),
// so that node-llama-cpp and our engine run the very same weights. It is a stand-in until
// src/io/gguf-write.ts (branch gguf) lands; it writes no quantized types and reads nothing back.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseSentencePieceModel, type PieceType } from '../src/data/sentencepiece-model.js';
import { paramView, type Model } from '../src/model/index.js';
import { toHalf } from '../src/store/codec.js';

export type GgufWeightType = 'F32' | 'F16';

const GGML_TYPE: Record<GgufWeightType, number> = { F32: 0, F16: 1 };
const KV = { U32: 4, I32: 5, F32: 6, STRING: 8, ARRAY: 9 } as const;
const TOKEN_TYPE: Record<PieceType, number> = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };
const ALIGN = 32; // general.alignment's default

/** Growable little-endian byte sink. */
class Bytes {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(b, 0, 0, this.length);
    this.buf = b;
  }
  u32(v: number): void { this.room(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  u64(v: number): void { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  f32(v: number): void { this.room(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.room(b.length); b.copy(this.buf, this.length); this.length += b.length; }
  pad(): void { const n = (ALIGN - (this.length % ALIGN)) % ALIGN; this.room(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

/** Writes `model` (llama family, tied or untied head) as GGUF at `path` with the SentencePiece vocabulary of `tokenizerModel`. */
export function writeLlamaGguf(path: string, model: Model, tokenizerModel: string, type: GgufWeightType): void {
  const c = model.config;
  if (c.family !== 'llama' || c.ropeMode !== 'interleaved' || c.qkvBias) throw new Error(`bench gguf writer: only llama models with interleaved rotary and no qkv bias, got ${c.family}/${c.ropeMode}`);
  const sp = parseSentencePieceModel(tokenizerModel, readFileSync(tokenizerModel));
  if (sp.pieces.length !== c.vocabSize) throw new Error(`bench gguf writer: ${tokenizerModel} has ${sp.pieces.length} pieces, the model's vocabulary is ${c.vocabSize}`);
  const hs = c.dim / c.nHeads;
  const kvs: [string, (b: Bytes) => void][] = [
    ['general.architecture', (b) => { b.u32(KV.STRING); b.str('llama'); }],
    ['general.name', (b) => { b.u32(KV.STRING); b.str('distill-bench'); }],
    ['llama.context_length', (b) => { b.u32(KV.U32); b.u32(c.maxSeqLen); }],
    ['llama.embedding_length', (b) => { b.u32(KV.U32); b.u32(c.dim); }],
    ['llama.block_count', (b) => { b.u32(KV.U32); b.u32(c.nLayers); }],
    ['llama.feed_forward_length', (b) => { b.u32(KV.U32); b.u32(c.hiddenDim); }],
    ['llama.attention.head_count', (b) => { b.u32(KV.U32); b.u32(c.nHeads); }],
    ['llama.attention.head_count_kv', (b) => { b.u32(KV.U32); b.u32(c.nKvHeads); }],
    ['llama.attention.layer_norm_rms_epsilon', (b) => { b.u32(KV.F32); b.f32(c.normEps); }],
    ['llama.rope.dimension_count', (b) => { b.u32(KV.U32); b.u32(hs); }],
    ['llama.rope.freq_base', (b) => { b.u32(KV.F32); b.f32(c.ropeTheta); }],
    ['general.file_type', (b) => { b.u32(KV.U32); b.u32(type === 'F32' ? 0 : 1); }],
    ['tokenizer.ggml.model', (b) => { b.u32(KV.STRING); b.str('llama'); }],
    ['tokenizer.ggml.tokens', (b) => { b.u32(KV.ARRAY); b.u32(KV.STRING); b.u64(sp.pieces.length); for (const p of sp.pieces) b.str(p.piece); }],
    ['tokenizer.ggml.scores', (b) => { b.u32(KV.ARRAY); b.u32(KV.F32); b.u64(sp.pieces.length); for (const p of sp.pieces) b.f32(p.score); }],
    ['tokenizer.ggml.token_type', (b) => { b.u32(KV.ARRAY); b.u32(KV.I32); b.u64(sp.pieces.length); for (const p of sp.pieces) b.u32(TOKEN_TYPE[p.type]); }],
    ['tokenizer.ggml.bos_token_id', (b) => { b.u32(KV.U32); b.u32(1); }],
    ['tokenizer.ggml.eos_token_id', (b) => { b.u32(KV.U32); b.u32(2); }],
    ['tokenizer.ggml.unknown_token_id', (b) => { b.u32(KV.U32); b.u32(0); }],
  ];
  // llama.cpp name, our name, whether it is a matrix (written in `type`; vectors stay F32).
  const tensors: [string, string, boolean][] = [['token_embd.weight', 'tok_embeddings', true], ['output_norm.weight', 'norm', false]];
  if (!c.tiedEmbeddings) tensors.push(['output.weight', 'output', true]);
  const block: [string, string, boolean][] = [['attn_norm', 'attn_norm', false], ['attn_q', 'wq', true], ['attn_k', 'wk', true], ['attn_v', 'wv', true],
    ['attn_output', 'wo', true], ['ffn_norm', 'ffn_norm', false], ['ffn_gate', 'w1', true], ['ffn_down', 'w2', true], ['ffn_up', 'w3', true]];
  for (let l = 0; l < c.nLayers; l++) for (const [g, o, m] of block) tensors.push([`blk.${l}.${g}.weight`, `layers.${l}.${o}`, m]);

  const head = new Bytes();
  head.u32(0x46554747); // 'GGUF'
  head.u32(3);
  head.u64(tensors.length);
  head.u64(kvs.length);
  for (const [key, write] of kvs) { head.str(key); write(head); }
  let offset = 0;
  const data: Buffer[] = [];
  for (const [name, ours, matrix] of tensors) {
    const e = model.layout.byName.get(ours)!;
    const w = paramView(model.layout, model.params, ours);
    const t = matrix ? GGML_TYPE[type] : GGML_TYPE.F32;
    head.str(name);
    head.u32(e.shape.length);
    for (const d of [...e.shape].reverse()) head.u64(d); // GGUF lists ne0 (the innermost) first
    head.u32(t);
    head.u64(offset);
    let bytes: Buffer;
    if (t === GGML_TYPE.F32) bytes = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    else {
      const h = new Uint16Array(w.length);
      for (let i = 0; i < w.length; i++) h[i] = toHalf(w[i]);
      bytes = Buffer.from(h.buffer);
    }
    const padded = Math.ceil(bytes.length / ALIGN) * ALIGN;
    data.push(bytes, Buffer.alloc(padded - bytes.length));
    offset += padded;
  }
  head.pad();
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head.bytes());
    for (const d of data) writeSync(fd, d);
  } finally {
    closeSync(fd);
  }
}
