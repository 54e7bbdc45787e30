// A small builder of ONNX graphs in SSA form: adds nodes with fresh output names under a scope
// (optimum-style '/model/layers.0/attn/MatMul_output_0'), f32 initializers, and int64 / f32
// constants shared by value. It knows no model (onnx-decoder.ts) and encodes nothing (onnx-proto.ts).

import { type AttrValue, type NodeData, type TensorData, DTYPE, rawBytes } from './onnx-proto.js';

export class GraphBuilder {
  readonly nodes: NodeData[] = [];
  readonly initializers: TensorData[] = [];
  /** Node names and output names are prefixed with it ('/model/layers.3/attn'). */
  scope = '';
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  /** `base`, or base_1, base_2, ... : the first of them not yet used in this graph. */
  private fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /**
   * Adds one node and returns its outputs: `outputs` names them (a graph output must carry its
   * own name), a count asks for that many fresh names.
   */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs: number | readonly string[] = 1): string[] {
    const name = this.fresh(`${this.scope}/${opType}`);
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, (_, i) => this.fresh(`${name}_output_${i}`))
      : outputs.map((o) => this.fresh(o));
    this.nodes.push({ opType, name, inputs, outputs: outs, attrs });
    return outs;
  }

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(opType, inputs, attrs, output === undefined ? 1 : [output])[0];
  }

  /** A float32 initializer (kept by reference, not copied); returns its name. */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new RangeError(`initializer '${name}': ${data.length} values for shape [${dims.join(', ')}]`);
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, dtype: DTYPE.FLOAT, dims, raw: rawBytes(data) });
    return unique;
  }

  /** An int64 constant: a scalar when `values` is a number, else a 1-D tensor. Shared by value. */
  int64(values: number | readonly number[]): string {
    const dims = typeof values === 'number' ? [] : [values.length];
    const list = typeof values === 'number' ? [values] : values;
    return this.constant(`i64:${dims.length}:${list.join(',')}`, () => ({
      name: '', dtype: DTYPE.INT64, dims, raw: rawBytes(BigInt64Array.from(list, (v) => BigInt(v))),
    }));
  }

  /** A float32 scalar constant, shared by value. */
  f32(value: number): string {
    return this.constant(`f32:${Math.fround(value)}`, () => ({ name: '', dtype: DTYPE.FLOAT, dims: [], raw: rawBytes(Float32Array.of(value)) }));
  }

  private constant(key: string, make: () => TensorData): string {
    const have = this.constants.get(key);
    if (have) return have;
    const name = this.fresh(`const_${this.constants.size}`);
    this.initializers.push({ ...make(), name });
    this.constants.set(key, name);
    return name;
  }
}
