// A teacher that is a causal-LM ONNX export run by onnxruntime-node on the CPU: a plain
// input_ids -> logits graph or the optimum / transformers.js layout (attention_mask, position_ids,
// an empty past_key_values cache; present.* outputs left unread). Dense logits (N,V) cut to the V
// asked for. onnxruntime-node is imported only when such a teacher is opened. It neither generates
// text nor reads weights itself, and knows no other runtime's execution providers.
import type * as Ort from 'onnxruntime-node';
import { loadTokenizer } from '../data/index.js';
import { configContext, feeds, planFeeds, type FeedPlan, type OnnxValueInfo } from './onnx-feeds.js';
import { checkLooksLikeOnnx, besideModel, onnxIdentity, readConfigBeside, resolveOnnxPath } from './onnx-files.js';
import { checkRequest, type Teacher, type TeacherOutput, type TeacherRequest, TeacherError } from './teacher.js';

type OrtModule = typeof Ort;

/** onnxruntime-node, imported on first use; a TeacherError saying so when it cannot load here. */
export async function loadOnnxRuntime(): Promise<OrtModule> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new TeacherError(`the onnx teacher needs the onnxruntime-node package, which did not load on ${process.platform}/${process.arch}: ${(e as Error).message}`);
  }
}

/** Opens `path` (a .onnx file or a folder holding model.onnx or onnx/model.onnx) for at most `maxB`
 *  windows per call. Its context is config.json's when that names one, else `seqLen` (an export
 *  records none: the run's windows are taken to fit). `source` begins the errors about the spec. */
export async function openOnnxTeacher(path: string, maxB: number, seqLen: number, source: string): Promise<OnnxTeacher> {
  const file = resolveOnnxPath(path, source);
  checkLooksLikeOnnx(file);
  const config = readConfigBeside(file);
  const tokenizerPath = besideModel(file, 'tokenizer.json');
  const tokenizerIdentity = tokenizerPath ? loadTokenizer(tokenizerPath).identity() : null;
  const ort = await loadOnnxRuntime();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file);
  } catch (e) {
    throw new TeacherError(`${file}: onnxruntime could not load the model: ${(e as Error).message}`);
  }
  const plan = planFeeds(file, session.inputMetadata.map(valueInfo), session.outputMetadata.map(valueInfo), config);
  const maxSeqLen = (config && configContext(config.config)) ?? seqLen;
  const teacher = new OnnxTeacher(ort, session, plan, file, maxB, maxSeqLen, tokenizerIdentity);
  await teacher.learnVocabSize();
  return teacher;
}

function valueInfo(m: Ort.InferenceSession.ValueMetadata): OnnxValueInfo {
  return m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: null, shape: [] };
}

export class OnnxTeacher implements Teacher {
  readonly description: string;
  readonly scoresAnyText = true;
  readonly canGenerate = false;
  readonly params = null;
  readonly localModel = null;
  private vocab: number | null;
  private out = new Float32Array(0);
  private identityMemo: string | null = null;

  constructor(private readonly ort: OrtModule, private readonly session: Ort.InferenceSession, private readonly plan: FeedPlan,
    readonly file: string, private readonly maxB: number, readonly maxSeqLen: number, readonly tokenizerIdentity: string | null) {
    this.description = `onnx ${file}`;
    this.vocab = plan.vocabSize;
  }

  /** Logits' last dim: from the metadata, else from running one window of one id (0). */
  async learnVocabSize(): Promise<void> {
    if (this.vocab !== null) return;
    const dims = (await this.run(new Int32Array(1), 1, 1)).dims;
    this.vocab = dims[2];
  }

  get vocabSize(): number {
    if (this.vocab === null) throw new TeacherError(`teacher ${this.description}: vocabulary not known before learnVocabSize()`);
    return this.vocab;
  }

  /** Hash of the model file and its external data (computed once, on first use). */
  get identity(): string {
    this.identityMemo ??= onnxIdentity(this.file);
    return this.identityMemo;
  }

  async predict(req: TeacherRequest): Promise<TeacherOutput> {
    checkRequest(this, req, this.maxB);
    if (!req.accept.includes('logits')) throw new TeacherError(`teacher ${this.description} gives logits, the caller accepts only ${req.accept.join(', ')}`);
    const { B, T, V } = req;
    const logits = await this.run(req.tokens, B, T);
    const full = this.vocabSize, N = B * T;
    if (this.out.length < N * V) this.out = new Float32Array(N * V);
    const out = this.out.subarray(0, N * V);
    const src = logits.data as Float32Array;
    if (V === full) out.set(src.subarray(0, N * V));
    else for (let i = 0; i < N; i++) out.set(src.subarray(i * full, i * full + V), i * V);
    return { kind: 'logits', logits: out };
  }

  /** The model's logits tensor for B windows of T ids; checked to be (B, T, vocabSize). */
  private async run(tokens: Int32Array, B: number, T: number): Promise<Ort.Tensor> {
    const feed: Record<string, Ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds(this.plan, tokens, B, T))) feed[name] = new this.ort.Tensor(f.type as Ort.Tensor.Type, f.data, f.dims);
    let logits: Ort.Tensor | undefined;
    try {
      logits = (await this.session.run(feed, ['logits'])).logits;
    } catch (e) {
      throw new TeacherError(`${this.file}: onnxruntime failed running ${B} window(s) of ${T} tokens: ${(e as Error).message}`);
    }
    const d = logits?.dims ?? [];
    const ok = logits !== undefined && logits.type === 'float32' && d.length === 3 && d[0] === B && d[1] === T && (this.vocab === null || d[2] === this.vocab);
    if (!ok) {
      throw new TeacherError(`${this.file}: 'logits' came back ${logits?.type ?? 'missing'} [${d.join(', ')}], expected float32 [${B}, ${T}, ${this.vocab ?? 'vocab'}] (one row per input position)`);
    }
    return logits;
  }
}
