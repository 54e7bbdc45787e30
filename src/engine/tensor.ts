// Tensors as typed arrays plus a shape: views, never copies. The engine's ops take raw arrays
// and sizes; this type is for code that wants to carry shapes along (models, fixtures, io).
// It deliberately has no arithmetic: computation goes through a Backend.

export type DType = 'f32' | 'i32';
export type TypedArrayOf<D extends DType> = D extends 'f32' ? Float32Array : Int32Array;

export interface Tensor<D extends DType = 'f32'> {
  dtype: D;
  shape: readonly number[];
  data: TypedArrayOf<D>;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A tensor over `data` (a view); throws if the sizes disagree. */
export function tensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'> {
  if (numel(shape) !== data.length) throw new RangeError(`tensor: shape [${shape.join(',')}] has ${numel(shape)} elements, data has ${data.length}`);
  return { dtype: 'f32', shape, data };
}

/** A view of rows [start, start+count) of a tensor's leading axis. */
export function rows<D extends DType>(t: Tensor<D>, start: number, count: number): Tensor<D> {
  const inner = numel(t.shape.slice(1));
  const data = t.data.subarray(start * inner, (start + count) * inner) as TypedArrayOf<D>;
  return { dtype: t.dtype, shape: [count, ...t.shape.slice(1)], data };
}
