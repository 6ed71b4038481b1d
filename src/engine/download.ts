/**
 * Reading a GPU-resident tensor into JS.
 *
 * onnxruntime-node 1.30's binding implements no download: `getData()` on a tensor with
 * `location: 'gpu-buffer'` ends the process ("terminate called after throwing an instance
 * of 'char const*'", SIGABRT), and `reshape()` throws. Outputs left at the default location
 * ('cpu') come back normally. So to read a tensor that must stay on the GPU (a KV cache),
 * feed it to a second WebGPU session that holds only an Identity whose output location is
 * 'cpu': the engine copies it GPU → CPU as it would any CPU output. Sessions share the
 * provider's one device, so a GPU tensor from one session is a valid input to another. A
 * download waits for the GPU's queue, so downloading a 1-element tensor is also how to wait
 * for the GPU.
 */
import { Engine, type ort } from './session.ts';
import { GraphBuilder, type ElemType } from './graph.ts';

const ELEM: Partial<Record<ort.Tensor.Type, ElemType>> = { float32: 'float', int64: 'int64', int32: 'int32', bool: 'bool', float64: 'double' };

export class Downloader {
  private readonly sessions = new Map<string, Promise<Engine>>();

  /** One Identity session per element type and rank (dims symbolic). */
  private session(type: ort.Tensor.Type, rank: number): Promise<Engine> {
    const key = `${type}/${rank}`;
    let s = this.sessions.get(key);
    if (!s) {
      const elem = ELEM[type];
      if (!elem) throw new Error(`cannot download a ${type} tensor`);
      const g = new GraphBuilder(`download-${key}`);
      const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
      g.output(g.node('Identity', [g.input('x', dims, elem)]), 'y', elem);
      s = Engine.create(g.toBytes(), { threads: 1, graphOpt: 'all', device: 'webgpu', preferredOutputLocation: 'cpu' });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** A CPU copy of `t` (any location); the GPU tensor is left as it is. */
  async download(t: ort.Tensor): Promise<ort.Tensor> {
    if (t.location === 'cpu') return t;
    const s = await this.session(t.type, t.dims.length);
    return (await s.runTensors({ x: t })).y!;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
