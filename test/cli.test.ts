// The `distill` command line end to end (spawns dist/src/cli/main.js): generate on stories260K
// with both tokenizer files, with and without the KV cache, on every available backend; inspect;
// eval on a few windows; and the one-line `distill: <message>` errors with exit code 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableBackends } from '../src/engine/select.js';
import { loadNativeAddon } from '../src/engine/native/index.js';
import { fixturesDir } from './helpers/fixtures.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/test -> repo root
const MAIN = join(root, 'dist', 'src', 'cli', 'main.js');
const S = '../shared/data/stories260K';

function distill(args: string[], backend?: string): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  if (backend) env.DISTILL_BACKEND = backend;
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// shared/data/README.md: greedy decoding from "Once upon a time" must continue with this sentence,
// which is 27 tokens after the prompt in tok512 (counted with tokenizer.encode).
const README_TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

for (const be of availableBackends().map((b) => b.name)) {
  for (const tok of ['tok512.bin', 'tok512.model']) {
    for (const kv of [true, false]) {
      test(`generate on ${be} with ${tok}, ${kv ? 'KV cache' : 'no KV cache'}: the README continuation`, () => {
        const r = distill(['generate', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/${tok}`, '--prompt', 'Once upon a time',
          '--temperature', '0', '--max-tokens', '27', ...(kv ? [] : ['--no-kv-cache'])], be);
        assert.equal(r.stderr, '');
        assert.equal(r.code, 0);
        assert.equal(r.stdout, README_TEXT + '\n');
      });
    }
  }
}

test('generate with a GGUF model and no --tokenizer uses the vocabulary inside it; other models need one', () => {
  const r = distill(['generate', '--model', '../shared/data/stories260K-gguf/stories260K.gguf', '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '27']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, README_TEXT + '\n');
  const bin = distill(['generate', '--model', `${S}/stories260K.bin`, '--prompt', 'Once upon a time']);
  assert.equal(bin.code, 1);
  assert.match(bin.stderr, /stories260K\.bin: a llama2c-legacy checkpoint carries no tokenizer; pass one \(--tokenizer/);
});

test('generate: the same seed samples the same text, another seed other text', () => {
  const args = ['generate', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.bin`, '--prompt', 'The cat', '--temperature', '1', '--top-k', '40', '--top-p', '0.9', '--max-tokens', '20'];
  const a = distill([...args, '--seed', '1']), b = distill([...args, '--seed', '1']), c = distill([...args, '--seed', '2']);
  assert.equal(a.code, 0, a.stderr);
  assert.ok(a.stdout.startsWith('The cat'));
  assert.equal(a.stdout, b.stdout);
  assert.notEqual(a.stdout, c.stdout);
});

test('inspect prints config, parameter table, total and bytes', () => {
  const r = distill(['inspect', `${S}/stories260K.bin`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /format: llama2c-legacy/);
  assert.match(r.stdout, /dim: 64\n/);
  assert.match(r.stdout, /layers\.0\.wq\s+\[64, 64\]\s+4096\n/);
  assert.match(r.stdout, /layers\.4\.w1\s+\[172, 64\]\s+11008\n/);
  assert.match(r.stdout, /total parameters: 260032\n/);
  assert.match(r.stdout, /bytes on disk: 1056540/);
});

test('eval on the first window matches the PyTorch reference', () => {
  // firstWindowsLoss["1"] from scripts/ref-eval-stories260k.py (test/fixtures/eval/stories260k-val.json).
  const want = (JSON.parse(readFileSync(join(fixturesDir, 'eval', 'stories260k-val.json'), 'utf8')) as { firstWindowsLoss: Record<string, number> }).firstWindowsLoss['1'];
  const r = distill(['eval', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.model`, '--data', '../shared/data/tinystories/stories.txt', '--max-windows', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /split val: 40994 tokens, 1 windows of 256 \(256 targets scored\)/);
  assert.match(r.stdout, /260032 parameters, 1056540 bytes on disk/);
  const loss = Number(/loss: ([\d.]+) nats\/token/.exec(r.stdout)?.[1]);
  assert.ok(Math.abs(loss - want) / want <= 1e-4, `loss ${loss} vs ${want}`);
  assert.match(r.stdout, /perplexity: [\d.]+\n/);
  assert.match(r.stdout, /speed: \d+ tokens\/s/);
  // the progress line (stderr, plain: not a TTY) at 100% once
  assert.equal(r.stderr.match(/eval windows 1\/1 100\.0% \| [^\n]* window\/s [^\n]*ETA 0s\n/g)?.length, 1, r.stderr);
});

test('run: the progress line at 100% once, then one final line per run', () => {
  const { recipe } = tinyRecipes('distill-cli-run-', {
    paragraphs: 80, seed: 2, train: '{steps: 4, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 0}',
    eval: '{every: 2, maxWindows: 2, samples: {prompts: ["Once upon a time"], maxTokens: 6}}',
  });
  const r = distill(['run', recipe('cli-kd'), 'monitor.progress=true'], process.env.DISTILL_BACKEND ?? 'ref');
  assert.equal(r.code, 0, r.stderr);
  // training ends, the final eval and the save log at the same step: the 100% line is not repeated
  assert.equal(r.stderr.match(/^step 4\/4 100\.0% \|.*\| ETA 0s \| loss [\d.]+/gm)?.length, 1, r.stderr);
  const finals = r.stdout.split('\n').filter((l) => l.startsWith('cli-kd ('));
  assert.equal(finals.length, 1, r.stdout);
  assert.match(finals[0], /^cli-kd \(kd, seed 2\): 4 steps in \d+s, [\d.]+k? tok\/s, peak RSS \d+ MiB \| val loss [\d.]+ \(ppl [\d.]+\), KL→teacher [\d.]+, top-1 agree [\d.]+% \| samples distinct-2 [\d.]+%, repetition [\d.]+% -> .*cli-kd$/);
});

test('eval --quant runs the weights a GGUF of that type holds and prints loss per byte; an unknown type is refused', () => {
  const args = ['eval', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.model`, '--data', '../shared/data/tinystories/stories.txt', '--max-windows', '2'];
  const r = distill([...args, '--quant', 'q8_0']);
  assert.equal(r.code, 0, r.stderr);
  // stories260K's 64- and 172-wide rows: 31 matrices Q8_0, the 5 w2 (172 wide) fall back to F16, 11 norms F32.
  assert.match(r.stdout, /quant: q8_0 \(31 Q8_0, 11 F32, 5 F16 tensors; 333504 bytes as GGUF\)/);
  assert.match(r.stdout, /per byte: [\d.]+ bits\/byte, [\d.]+ nats\/byte \(\d+ bytes of text; comparable across tokenizers\)/);
  const bad = distill([...args, '--quant', 'q3_k']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--quant must be one of f32, f16, q8_0, q4_0, q4_k, q6_k, got 'q3_k'/);
});

test('eval --precision bf16 scores what PyTorch does with bf16 matmuls, within the float32 summation-order spread', () => {
  // test/fixtures/eval/stories260k-val-bf16.json, from `/usr/bin/python3 scripts/ref-eval-stories260k.py
  // --matmul bf16 --max-windows 32 --orders 16`: on the first 32 val windows, the loss with every
  // projection and the head fed bf16-rounded activations and weights (torch .bfloat16()) summed in
  // float64 (bf16Loss, the spec), the same in float32 under 16 random summation orders, and the fp32
  // model (meanLoss). A correct float32 implementation lands off the spec because a changed last bit
  // of an activation flips its bf16 rounding now and then; the largest such deviation over the 16
  // orders (bf16MaxOrderDeviation, 2.3e-4) times 1.5 is the bound. The fp32 model sits 5.3e-4 away,
  // so the bound still tells a bf16 teacher from an fp32 one (asserted first, so the test can fail).
  const fx = JSON.parse(readFileSync(join(fixturesDir, 'eval', 'stories260k-val-bf16.json'), 'utf8')) as
    { windows: number; meanLoss: number; bf16Loss: number; bf16MaxOrderDeviation: number };
  const bound = 1.5 * fx.bf16MaxOrderDeviation;
  assert.ok(bound < Math.abs(fx.meanLoss - fx.bf16Loss), `bound ${bound} cannot tell bf16 from fp32`);
  const args = ['eval', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.bin`, '--data', '../shared/data/tinystories/stories.txt', '--max-windows', String(fx.windows)];
  const loss = (p: string) => {
    const r = distill([...args, '--precision', p]);
    assert.equal(r.code, 0, r.stderr);
    return Number(/loss: ([\d.]+) nats\/token/.exec(r.stdout)?.[1]);
  };
  const f = loss('fp32'), b = loss('bf16');
  // fp32: the same 1e-4 relative bound as the first-window test above (printed to 6 decimals).
  assert.ok(Math.abs(f - fx.meanLoss) / fx.meanLoss <= 1e-4, `fp32 ${f} vs PyTorch ${fx.meanLoss}`);
  assert.ok(Math.abs(b - fx.bf16Loss) <= bound, `bf16 ${b} vs PyTorch bf16 ${fx.bf16Loss} (bound ${bound.toExponential(2)}; fp32 ${f})`);
});

test('doctor: the ISA, why, the bf16 path and the threads, as pasteable lines', () => {
  const r = distill(['doctor'], undefined);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^distill \d+\.\d+\.\d+\ncpu: .+, \d+ logical cores/);
  const addon = loadNativeAddon();
  if (addon) {
    const i = addon.info();
    assert.match(r.stdout, new RegExp(`\nisa: ${i.isa} \\(CPU's best: ${i.cpuIsa}; DISTILL_ISA=`));
    assert.match(r.stdout, new RegExp(`\nbf16 teacher: ${i.bf16} \\(`));
    assert.match(r.stdout, /\nthreads: \d+ \(DISTILL_THREADS=/);
  } else {
    assert.match(r.stdout, /\nisa: \w+ \(native engine unavailable: /);
  }
  // DISTILL_ISA caps what the kernels run, and doctor says so
  if (addon && addon.info().cpuIsa !== 'scalar') {
    const capped = spawnSync(process.execPath, [MAIN, 'doctor'], { cwd: root, env: { ...process.env, DISTILL_ISA: 'scalar' }, encoding: 'utf8' });
    assert.match(capped.stdout, /\nisa: scalar \(CPU's best: \w+; DISTILL_ISA=scalar\)/);
  }
});

test('errors: one line `distill: <message>`, exit 1, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['generate', '--model', `${S}/stories260K.bin`, '--tokenizer', 'no/such/tok.model', '--prompt', 'x'], /^distill: no\/such\/tok\.model: no such tokenizer file\n$/],
    [['generate', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.bin`, '--prompt', 'x', '--temperature', 'hot'], /^distill: --temperature must be a number in \[0, 100\], got 'hot'\n$/],
    [['inspect', `${S}/tok512.bin`], /^distill: \.\.\/shared\/data\/stories260K\/tok512\.bin: unrecognised checkpoint .*expected a Hugging Face folder/],
    [['eval', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.bin`, '--data', 'no/such.txt'], /^distill: no\/such\.txt: no such corpus file\n$/],
    [['eval', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.bin`, '--data', '../shared/data/tinystories/stories.txt', '--split', 'test'], /^distill: --split must be val, train or all, got 'test'\n$/],
    [['eval', '--model', `${S}/stories260K.bin`, '--tokenizer', `${S}/tok512.bin`, '--data', '../shared/data/tinystories/stories.txt', '--precision', 'fp16'], /^distill: --precision must be fp32 or bf16, got 'fp16'\n$/],
  ];
  for (const [args, re] of cases) {
    // an explicit backend: without the addon, auto-selection adds its one-line fallback warning
    const r = distill(args, process.env.DISTILL_BACKEND ?? 'ref');
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');
  }
});
