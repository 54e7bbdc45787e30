// Reference top-k per row: the k largest values sorted descending, ties broken by lower index.
// A stable sort of each row's indices; no partial selection tricks (that is native's job).
import { needLen, needSizes } from './check.js';

/** inp (N,V) -> values (N,k) descending, indices (N,k) i32; equal values keep index order. */
export function topkForward(values: Float32Array, indices: Int32Array, inp: Float32Array, N: number, V: number, k: number): void {
  const op = 'topkForward';
  needSizes(op, { N, V, k });
  if (k > V) throw new RangeError(`${op}: k=${k} exceeds the row length V=${V}`);
  needLen(op, 'values', values, N * k); needLen(op, 'indices', indices, N * k); needLen(op, 'inp', inp, N * V);
  const order = new Array<number>(V);
  for (let i = 0; i < N; i++) {
    const o = i * V;
    for (let j = 0; j < V; j++) order[j] = j;
    order.sort((a, b) => (inp[o + b] - inp[o + a]) || (a - b));
    for (let j = 0; j < k; j++) { indices[i * k + j] = order[j]; values[i * k + j] = inp[o + order[j]]; }
  }
}

/** dValues (N,k), indices (N,k) -> dInp (N,V) overwritten: zero except dInp[i, indices[i,j]] = dValues[i,j]. */
export function topkBackward(dInp: Float32Array, dValues: Float32Array, indices: Int32Array, N: number, V: number, k: number): void {
  const op = 'topkBackward';
  needSizes(op, { N, V, k });
  if (k > V) throw new RangeError(`${op}: k=${k} exceeds the row length V=${V}`);
  needLen(op, 'dInp', dInp, N * V); needLen(op, 'dValues', dValues, N * k); needLen(op, 'indices', indices, N * k);
  for (let i = 0; i < N * k; i++) {
    if (indices[i] < 0 || indices[i] >= V) throw new RangeError(`${op}: indices[${i}] = ${indices[i]} is outside [0, ${V})`);
  }
  dInp.fill(0, 0, N * V);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < k; j++) dInp[i * V + indices[i * k + j]] = dValues[i * k + j];
  }
}
