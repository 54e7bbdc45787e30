// A real runtime loads our ONNX export: @huggingface/transformers (transformers.js, on the same
// onnxruntime-node) opens the folder `distill export --format onnx` writes — model, config,
// generation config and tokenizer — with no network, and its greedy continuation equals ours token
// for token, for stories260K (tokenizer.json converted from tok512) and the TinyStories-656K
// Hugging Face folder (its own tokenizer.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExport } from '../src/cli/export.js';
import { loadModelAndTokenizer } from '../src/eval/load-pair.js';
import { selectBackend } from '../src/engine/select.js';
import { generate } from '../src/model/index.js';

const tjs = await import('@huggingface/transformers').then((m) => m, (e: Error) => e);
const skip = tjs instanceof Error ? `@huggingface/transformers cannot load: ${tjs.message}` : false;
const tmp = mkdtempSync(join(tmpdir(), 'distill-tjs-'));

const cases: [name: string, model: string, tokenizer: string | undefined][] = [
  ['stories260k', '../shared/data/stories260K/stories260K.bin', '../shared/data/stories260K/tok512.model'],
  ['tinystories-656k', '../shared/data/tinystories-656k', undefined],
];

for (const [name, model, tokenizer] of cases) {
  test(`transformers.js generates our greedy text from the ONNX export of ${name}`, { skip }, async () => {
    if (tjs instanceof Error) return;
    runExport(model, { format: 'onnx', out: join(tmp, name), tokenizer, llama2cVersion: 'legacy' });
    tjs.env.allowRemoteModels = false;
    tjs.env.localModelPath = tmp + '/';
    const tok = await tjs.AutoTokenizer.from_pretrained(name);
    const m = await tjs.AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    const prompt = 'Once upon a time';
    const inputs = tok(prompt);
    const out = await m.generate({ ...inputs, max_new_tokens: 32, do_sample: false }) as { tolist(): bigint[][] };
    const theirs = out.tolist()[0].map(Number);
    const ours = loadModelAndTokenizer(model, tokenizer);
    const promptIds = [ours.tokenizer.bosId!, ...ours.tokenizer.encode(prompt)];
    assert.deepEqual(theirs.slice(0, promptIds.length), promptIds, 'transformers.js tokenizes the prompt as we do');
    const r = generate(selectBackend(), ours.model, promptIds, { temperature: 0, maxNewTokens: 32, stopIds: ours.checkpoint.eosIds });
    assert.deepEqual(theirs.slice(promptIds.length), r.tokens, `${name}: ${JSON.stringify(tok.decode(out.tolist()[0].map(Number), { skip_special_tokens: true }))}`);
    await m.dispose();
  });
}
