// One workload of the step benchmarks, in its own process so peak RSS is the workload's own:
// `node dist/bench/step-worker.js teacher-forward|ce-step|kd-step|teacher-hidden[-bf16] [--profile]`. It drives what
// training runs (ModelTeacher, MicroStep, grad clip, AdamW), never a bench-only path, and prints
// one JSON line (StepResult; with --profile also the op-group profile of the timed steps).
import { selectBackend } from '../src/engine/select.js';
import { formatProfileTable, profileBackend } from '../src/engine/profile-backend.js';
import { Rng } from '../src/engine/rng.js';
import { createModel, initParams, zeroGradsInPlace } from '../src/model/index.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { clipGradNormInPlace } from '../src/train/grad-clip.js';
import { MicroStep } from '../src/train/micro-step.js';
import { AdamW } from '../src/train/optimizer.js';
import { medianStepSeconds } from './median-step.js';
import { ALPHA, B, CLIP, HIDDEN_WORKLOADS, LR, STUDENT, T, TEACHER, TEMPERATURE, VOCAB, WORKLOADS, baseWorkload, teacherPrecision, type StepResult, type Workload } from './step-shapes.js';

const workload = process.argv[2] as Workload;
if (![...WORKLOADS, ...HIDDEN_WORKLOADS].includes(workload)) {
  console.error(`usage: step-worker.js ${[...WORKLOADS, ...HIDDEN_WORKLOADS].join('|')} [--profile]`);
  process.exit(2);
}
const profiling = process.argv.includes('--profile');
const warmup = Number(process.env.BENCH_WARMUP ?? '2');
const steps = Number(process.env.BENCH_STEPS ?? '5');

// Native unless DISTILL_BACKEND says otherwise: a silent fall-back to ref would time the wrong engine.
const plain = selectBackend(process.env.DISTILL_BACKEND ?? 'native', process.env.DISTILL_THREADS ? undefined : 2);
const prof = profiling ? profileBackend(plain) : null;
const be = prof ?? plain;

const rng = new Rng(1);
const windows = new Int32Array(B * (T + 1));
for (let i = 0; i < windows.length; i++) windows[i] = rng.nextInt(VOCAB);
const inputs = new Int32Array(B * T);
for (let b = 0; b < B; b++) inputs.set(windows.subarray(b * (T + 1), b * (T + 1) + T), b * T);

const teacher = baseWorkload(workload) === 'ce-step' ? null
  : new ModelTeacher(be, createModel(TEACHER, initParams(TEACHER, new Rng(2))), B, T, 'random stories15M-shaped', teacherPrecision(workload));

let step: () => void | Promise<void>;
if (baseWorkload(workload) === 'teacher-forward') {
  step = () => { teacher!.logits(inputs, B, T); };
} else if (baseWorkload(workload) === 'teacher-hidden') {
  step = () => { teacher!.hidden(inputs, B, T); };
} else {
  const student = createModel(STUDENT, initParams(STUDENT, new Rng(3)));
  const micro = new MicroStep(be, student, teacher, {
    divergence: { kind: 'forward-kl' }, scaleT2: true, ignoreIndex: -1,
    teacher: { labelSmoothing: 0, topP: 1, tail: 'bucket' },
  }, B, T);
  micro.setWindows(windows);
  const opt = new AdamW(student.layout, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  step = async () => {
    zeroGradsInPlace(student);
    const r = await micro.run(teacher ? ALPHA : 1, TEMPERATURE, 1);
    if (!Number.isFinite(r.loss)) throw new Error(`${workload}: loss is ${r.loss}`);
    clipGradNormInPlace(student.grads, CLIP);
    opt.stepInPlace(be, student.params, student.grads, LR);
  };
}

const med = await medianStepSeconds(step, warmup, steps, () => prof?.resetProfile());
const result: StepResult & Record<string, unknown> = {
  workload, tokensPerSec: (B * T) / med, stepSeconds: med, steps,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  backend: `${be.name}/${be.isa}`, threads: be.threads,
};
if (prof) {
  const p = prof.profile();
  result.profile = p;
  process.stderr.write(`${workload}, ${steps} timed steps:\n${formatProfileTable(p)}\n`);
}
console.log(JSON.stringify(result));
