// The ONNX messages distill writes (onnx.proto, IR version 8): tensors, value infos, nodes with
// their attributes, graphs and the model, encoded with the protobuf wire writer. Field numbers
// and enum values are onnx.proto's. It knows nothing of models or operators (onnx-graph.ts and
// onnx-decoder.ts build graphs) and reads no ONNX (onnxruntime does that in the tests).

import { ProtoWriter } from './protobuf-wire.js';

/** TensorProto.DataType values we use. */
export const DTYPE = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;
export type DType = (typeof DTYPE)[keyof typeof DTYPE];

const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1 } as const;
const TYPE_TENSOR = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
const ATTR = { name: 1, f: 2, i: 3, t: 5, ints: 8, type: 20 } as const;
const ATTR_TYPE = { FLOAT: 1, INT: 2, TENSOR: 4, INTS: 7 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const MODEL = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 } as const;

/** A tensor with its bytes as ONNX stores them (raw_data: little-endian, row-major). */
export interface TensorData {
  name: string;
  dtype: DType;
  dims: readonly number[];
  raw: Uint8Array;
}

/** Little-endian bytes of a typed array, as raw_data wants them (a view where the host is little-endian). */
export function rawBytes(a: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (a instanceof Uint8Array || new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return view;
  const out = new Uint8Array(view.length), w = a.BYTES_PER_ELEMENT; // big-endian host: swap each element
  for (let i = 0; i < view.length; i += w) for (let j = 0; j < w; j++) out[i + j] = view[i + w - 1 - j];
  return out;
}

export function encodeTensor(t: TensorData): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.uint(TENSOR.dims, d);
  return w.uint(TENSOR.dataType, t.dtype).bytes(TENSOR.name, t.name).bytes(TENSOR.rawData, t.raw);
}

/** A dimension: a fixed size, or a symbolic name (dim_param) shared by inputs and outputs. */
export type Dim = number | string;

/** ValueInfoProto of a tensor input or output. */
export function encodeValueInfo(name: string, dtype: DType, dims: readonly Dim[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(SHAPE.dim, typeof d === 'number' ? new ProtoWriter().uint(DIM.value, d) : new ProtoWriter().bytes(DIM.param, d));
  const tensorType = new ProtoWriter().uint(TYPE_TENSOR.elemType, dtype).message(TYPE_TENSOR.shape, shape);
  return new ProtoWriter().bytes(VALUE_INFO.name, name).message(VALUE_INFO.type, new ProtoWriter().message(TYPE.tensorType, tensorType));
}

/** Attribute values: an integer, a float (marked by { f }), a list of integers, or a tensor. */
export type AttrValue = number | { f: number } | readonly number[] | TensorData;

function encodeAttribute(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().bytes(ATTR.name, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new RangeError(`ONNX attribute '${name}': ${v} is not an integer; pass { f: ${v} } for a float`);
    return w.int(ATTR.i, v).uint(ATTR.type, ATTR_TYPE.INT);
  }
  if (Array.isArray(v)) {
    for (const x of v as readonly number[]) w.int(ATTR.ints, x);
    return w.uint(ATTR.type, ATTR_TYPE.INTS);
  }
  if ('f' in v) return w.float(ATTR.f, v.f).uint(ATTR.type, ATTR_TYPE.FLOAT);
  return w.message(ATTR.t, encodeTensor(v as TensorData)).uint(ATTR.type, ATTR_TYPE.TENSOR);
}

export interface NodeData {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Readonly<Record<string, AttrValue>>;
}

export function encodeNode(n: NodeData): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.bytes(NODE.input, i);
  for (const o of n.outputs) w.bytes(NODE.output, o);
  w.bytes(NODE.name, n.name).bytes(NODE.opType, n.opType);
  for (const [k, v] of Object.entries(n.attrs)) w.message(NODE.attribute, encodeAttribute(k, v));
  return w;
}

export interface GraphData {
  name: string;
  nodes: readonly NodeData[];
  initializers: readonly TensorData[];
  inputs: readonly { name: string; dtype: DType; dims: readonly Dim[] }[];
  outputs: readonly { name: string; dtype: DType; dims: readonly Dim[] }[];
}

export interface ModelMeta {
  irVersion: number;
  /** ai.onnx (the default domain) opset version. */
  opset: number;
  producerName: string;
}

/** The bytes of a ModelProto holding `g`. */
export function encodeModel(g: GraphData, meta: ModelMeta): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(GRAPH.node, encodeNode(n));
  graph.bytes(GRAPH.name, g.name);
  for (const t of g.initializers) graph.message(GRAPH.initializer, encodeTensor(t));
  for (const v of g.inputs) graph.message(GRAPH.input, encodeValueInfo(v.name, v.dtype, v.dims));
  for (const v of g.outputs) graph.message(GRAPH.output, encodeValueInfo(v.name, v.dtype, v.dims));
  return new ProtoWriter()
    .uint(MODEL.irVersion, meta.irVersion)
    .bytes(MODEL.producerName, meta.producerName)
    .message(MODEL.graph, graph)
    .message(MODEL.opsetImport, new ProtoWriter().bytes(OPSET.domain, '').uint(OPSET.version, meta.opset))
    .finish();
}
