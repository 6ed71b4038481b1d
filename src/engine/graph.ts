/**
 * A small builder for ONNX graphs on top of the protobuf schema in `onnx-proto`.
 *
 * Every node carries a stage tag in its name (`stage/op#n`), so that the engine's
 * profiler events can be grouped back into the stages the profiler reports.
 */
import onnxProto from 'onnx-proto';
import { nodeBuiltin } from '../core/platform.ts';

const { onnx } = onnxProto;

export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number };
export type ElemType = 'float' | 'double' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8' | 'int4';

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  double: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  // onnx-proto 8.0.1's enum has no INT4; its number is ONNX's (../shared/notes/precision.md)
  int4: 22,
};

/** A node as a graph rewrite sees it (`GraphBuilder.rewrite`). */
export interface NodeView {
  op: string;
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Its integer attributes (transA, transB, axis, ...). */
  ints: Readonly<Record<string, number>>;
  /** Its float attributes (alpha, beta, epsilon). */
  floats: Readonly<Record<string, number>>;
  /** Its stage (the name's prefix). */
  stage: string;
}

/** The separator between a node's stage and the rest of its name. */
export const STAGE_SEP = '/';

/** Opset versions the builders target; 17 has LayerNormalization, com.microsoft 1 has the contrib ops. */
export const OPSET = 17;
export const MS_DOMAIN = 'com.microsoft';

/** A typed value; `dims` undefined leaves the shape to the engine's inference. */
function valueInfo(name: string, type: ElemType, dims?: readonly Dim[]) {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: ELEM[type], ...(shape ? { shape } : {}) } } });
}

function attribute(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: T.INT, i: v });
}

export interface NodeOptions {
  /** Stage this node belongs to (its name's prefix). Defaults to the builder's current stage. */
  stage?: string;
  domain?: string;
  /** Number of outputs (for Split and contrib ops); the names are generated. */
  outputs?: number;
  /** Explicit output names (e.g. graph outputs). */
  outputNames?: string[];
}

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private counter = 0;
  private usesContrib = false;
  /** The default opset; a graph that uses newer operators (blocked DequantizeLinear: 21) raises it. */
  opset = OPSET;
  /** The stage new nodes are tagged with. */
  stage = 'main';

  constructor(readonly name: string) {}

  /** Declare a graph input; returns its name. */
  input(name: string, dims: readonly Dim[], type: ElemType = 'float'): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /**
   * Declare `tensor` a graph output under `name`. The producing node's output is renamed
   * rather than copied through an Identity, which the engine would run as a real copy
   * when graph optimisation is off.
   */
  output(tensor: string, name: string = tensor, type: ElemType = 'float'): string {
    if (tensor !== name) {
      const isInput = this.inputs.some((i) => i.name === tensor);
      const producer = this.nodes.find((n) => n.output.includes(tensor));
      if (isInput || !producer) this.node('Identity', [tensor], {}, { outputNames: [name] });
      else {
        producer.output = producer.output.map((o) => (o === tensor ? name : o));
        for (const n of this.nodes) n.input = n.input.map((i) => (i === tensor ? name : i));
      }
    }
    this.outputs.push(valueInfo(name, type));
    return name;
  }

  /** A constant int64 tensor (shapes, axes, split sizes); `scalar` makes it rank 0. */
  ints(values: readonly number[], scalar = false): string {
    return this.constant('int64', values, scalar ? [] : [values.length]);
  }

  /** A constant float32 tensor. */
  floats(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('float', values, dims);
  }

  /**
   * A float32 weight held by the graph (an initializer): the engine treats it as a constant
   * and pre-packs it where it is a MatMul's or Gemm's B operand. Its bytes are referenced,
   * not copied, until the model is serialised.
   */
  initializer(name: string, data: Float32Array, dims: readonly number[]): string {
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(onnx.TensorProto.create({ name, dataType: ELEM.float, dims: [...dims], rawData }));
    return name;
  }

  /** A constant of raw bytes (packed codes: uint8, int8, int4 two to a byte), held by reference until serialised. */
  rawInitializer(name: string, type: ElemType, bytes: Uint8Array, dims: readonly number[]): string {
    this.initializers.push(onnx.TensorProto.create({ name, dataType: ELEM[type], dims: [...dims], rawData: bytes }));
    return name;
  }

  /** A float32 initializer's data and dims, or undefined where `name` is not one (an input, a computed tensor). */
  floatInitializer(name: string): { data: Float32Array; dims: number[] } | undefined {
    const t = this.initializers.find((i) => i.name === name);
    if (!t || t.dataType !== ELEM.float || !t.rawData) return undefined;
    const raw = t.rawData;
    const data = raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : new Float32Array(raw.slice().buffer);
    return { data, dims: t.dims.map(Number) };
  }

  /**
   * Replace nodes: `fn` sees each node in order and may add nodes through this builder, which
   * take its place (they must produce its outputs); it returns whether it replaced the node.
   * Initializers no node reads any more are dropped after.
   */
  rewrite(fn: (n: NodeView) => boolean): void {
    const old = this.nodes.splice(0);
    for (const n of old) {
      const ints: Record<string, number> = {};
      const floats: Record<string, number> = {};
      for (const a of n.attribute) {
        if (a.type === onnx.AttributeProto.AttributeType.INT) ints[a.name!] = Number(a.i);
        if (a.type === onnx.AttributeProto.AttributeType.FLOAT) floats[a.name!] = a.f!;
      }
      const view: NodeView = { op: n.opType, domain: n.domain, inputs: n.input, outputs: n.output, ints, floats, stage: n.name.split(STAGE_SEP)[0]! };
      if (!fn(view)) this.nodes.push(n);
    }
    const read = new Set(this.nodes.flatMap((n) => n.input));
    for (const o of this.outputs) read.add(o.name);
    for (let i = this.initializers.length - 1; i >= 0; i--) if (!read.has(this.initializers[i]!.name)) this.initializers.splice(i, 1);
  }

  /** A constant tensor of any supported element type. */
  constant(type: 'float' | 'int64' | 'int32' | 'uint8', values: readonly number[], dims: readonly number[]): string {
    const name = `const_${type}_${this.counter++}`;
    const data =
      type === 'float' ? Float32Array.from(values) : type === 'int32' ? Int32Array.from(values) : type === 'uint8' ? Uint8Array.from(values) : BigInt64Array.from(values, BigInt);
    this.initializers.push(
      onnx.TensorProto.create({ name, dataType: ELEM[type], dims: [...dims], rawData: new Uint8Array(data.buffer) }),
    );
    return name;
  }

  /** Add a node; returns its output name(s). */
  node(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): string {
    return this.nodeMulti(op, inputs, attrs, { ...opts, outputs: 1 })[0]!;
  }

  nodeMulti(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): string[] {
    const id = this.counter++;
    const stage = opts.stage ?? this.stage;
    const nodeName = `${stage}${STAGE_SEP}${op}#${id}`;
    const outs = opts.outputNames ?? Array.from({ length: opts.outputs ?? 1 }, (_, i) => `${stage}_${op}_${id}_${i}`);
    if (opts.domain === MS_DOMAIN) this.usesContrib = true;
    this.nodes.push(
      onnx.NodeProto.create({
        name: nodeName,
        opType: op,
        domain: opts.domain ?? '',
        input: [...inputs],
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  /** Run `fn` with every node it adds tagged as `stage`. */
  inStage<T>(stage: string, fn: () => T): T {
    const prev = this.stage;
    this.stage = stage;
    try {
      return fn();
    } finally {
      this.stage = prev;
    }
  }

  /** Bytes of one initializer's data (0 where there is none of that name). */
  initializerBytesOf(name: string): number {
    return this.initializers.find((t) => t.name === name)?.rawData?.byteLength ?? 0;
  }

  /** Bytes of every initializer's data. */
  initializerBytes(): number {
    return this.initializers.reduce((a, t) => a + (t.rawData?.byteLength ?? 0), 0);
  }

  private model(initializers: InstanceType<typeof onnx.TensorProto>[]) {
    const opsetImport = [{ domain: '', version: this.opset }];
    if (this.usesContrib) opsetImport.push({ domain: MS_DOMAIN, version: 1 });
    return onnx.ModelProto.create({
      // opset 21 (int4, blocked quantization) needs IR version 10
      irVersion: this.opset >= 21 ? 10 : 8,
      producerName: 'attnbench',
      opsetImport,
      graph: { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: initializers },
    });
  }

  /** Serialise as one ONNX model in memory (protobuf caps a model at 2 GiB: see `toFolder`). */
  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.model(this.initializers)).finish();
  }

  /**
   * Write the model into `dir` as `model.onnx` plus the weights as ONNX external data
   * (`weights.bin`, each tensor at a page-aligned offset), streamed from the arrays: no
   * serialised copy of the weights is held in memory, and there is no 2 GiB limit.
   * Initializers under `inlineBelow` bytes (shapes, axes) stay in the graph. Returns the
   * model's path.
   */
  toFolder(dir: string, inlineBelow = 4096): string {
    const fs = nodeBuiltin('node:fs', 'writing a model folder');
    const path = nodeBuiltin('node:path', 'writing a model folder');
    const bin = path.join(dir, 'weights.bin');
    const fd = fs.openSync(bin, 'w');
    let offset = 0;
    const PAGE = 4096;
    try {
      const tensors = this.initializers.map((t) => {
        const raw = t.rawData;
        if (!raw || raw.byteLength < inlineBelow) return t;
        offset = Math.ceil(offset / PAGE) * PAGE;
        fs.writeSync(fd, raw, 0, raw.byteLength, offset);
        const entry = (key: string, value: string) => onnx.StringStringEntryProto.create({ key, value });
        const external = [entry('location', 'weights.bin'), entry('offset', String(offset)), entry('length', String(raw.byteLength))];
        offset += raw.byteLength;
        return onnx.TensorProto.create({ name: t.name, dataType: t.dataType, dims: t.dims, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: external });
      });
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, onnx.ModelProto.encode(this.model(tensors)).finish());
      return file;
    } finally {
      fs.closeSync(fd);
    }
  }
}
