// Reference token embedding: row gather forward, row scatter-add backward.
// Ids are all checked before anything is written, so a bad id leaves the outputs untouched.
import { EngineError } from '../backend.js';
import { needLen, needSizes } from './check.js';

function checkIds(op: string, ids: Int32Array, N: number, V: number): void {
  for (let i = 0; i < N; i++) {
    const id = ids[i];
    if (id < 0 || id >= V) {
      throw new EngineError(`${op}: ids[${i}] = ${id} is outside the vocabulary [0, ${V}); check the tokenizer's vocab size against the model's`);
    }
  }
}

/** ids (N) i32, table (V,C) f32 -> out (N,C) f32. */
export function embeddingForward(out: Float32Array, ids: Int32Array, table: Float32Array,
                                 N: number, V: number, C: number): void {
  needSizes('embeddingForward', { N, V, C });
  needLen('embeddingForward', 'out', out, N * C);
  needLen('embeddingForward', 'ids', ids, N);
  needLen('embeddingForward', 'table', table, V * C);
  checkIds('embeddingForward', ids, N, V);
  for (let i = 0; i < N; i++) out.set(table.subarray(ids[i] * C, ids[i] * C + C), i * C);
}

/** dOut (N,C), ids (N) -> dTable (V,C) += scatter (a parameter gradient: accumulates). */
export function embeddingBackward(dTable: Float32Array, dOut: Float32Array, ids: Int32Array,
                                  N: number, V: number, C: number): void {
  needSizes('embeddingBackward', { N, V, C });
  needLen('embeddingBackward', 'dTable', dTable, V * C);
  needLen('embeddingBackward', 'dOut', dOut, N * C);
  needLen('embeddingBackward', 'ids', ids, N);
  checkIds('embeddingBackward', ids, N, V);
  for (let i = 0; i < N; i++) {
    const row = ids[i] * C;
    for (let c = 0; c < C; c++) dTable[row + c] += dOut[i * C + c];
  }
}
