// data.format: chat — conversations rendered with a tokenizer_config.json chat_template through
// @huggingface/jinja: the prompt is the conversation before the assistant's last message with the
// generation cue, the response what that message adds; template errors name the file, the line and
// the template's message; a short run on conversations made from real stories trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTokenizerConfig, loadChatTemplate } from '../src/data/chat.js';
import { loadTokenizer, splitParagraphs } from '../src/data/index.js';
import { loadPairData } from '../src/data/pairs.js';
import { writeJsonl } from './helpers/jsonl.js';
import { runRecipeFile } from './helpers/run-recipe.js';

const data = join('..', 'shared', 'data');
const TOK = join(data, 'stories260K', 'tok512.bin');
const dir = mkdtempSync(join(tmpdir(), 'distill-chat-'));
// A small template written for this test in the shape of common chat templates: BOS once, one
// "ROLE: content" line a message, EOS after the assistant's, a cue for the next assistant turn,
// and raise_exception for what it does not support. The newline is an expression: like
// transformers, the renderer drops the first newline after a block tag (trim_blocks).
const TEMPLATE = "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('this template has no system role') }}{% endif %}"
  + "{% if loop.first %}{{ bos_token }}{% endif %}{{ m['role'] | upper }}: {{ m['content'] }}{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}"
  + '{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}';
const tplDir = join(dir, 'tok');
mkdirSync(tplDir);
writeFileSync(join(tplDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: { content: '.' }, chat_template: TEMPLATE }));
const base = { format: 'chat' as const, promptField: 'prompt', responseField: 'response', validFraction: 0, tokenizer: TOK, chatTemplate: join(tplDir, 'tokenizer_config.json') };

const writeChats = (name: string, rows: object[]): string => writeJsonl(dir, name, rows);

test('a conversation becomes prompt (with the generation cue) + the assistant\'s last message; BOS not doubled', () => {
  const tok = loadTokenizer(TOK);
  const path = writeChats('c.jsonl', [{ messages: [
    { role: 'user', content: 'Tell me a story' }, { role: 'assistant', content: 'Once upon a time' },
    { role: 'user', content: 'About a dog' }, { role: 'assistant', content: 'Max the dog ran' },
  ] }]);
  const c = loadPairData({ ...base, path }, tok).train;
  const ids = [...c.tokens];
  assert.equal(ids[0], tok.bosId);
  assert.equal(ids.filter((x) => x === tok.bosId).length, 1);
  // Rendered by hand from TEMPLATE: the prompt is the first three messages, then the cue.
  const prompt = 'USER: Tell me a story\nASSISTANT: Once upon a time.\nUSER: About a dog\nASSISTANT:';
  assert.equal(tok.decode(ids.slice(0, c.promptLens[0])), prompt);
  assert.equal(tok.decode(ids), `${prompt} Max the dog ran.\n`);
  assert.equal(findTokenizerConfig(tplDir), join(tplDir, 'tokenizer_config.json'));
  assert.equal(findTokenizerConfig(join(tplDir, 'tokenizer.json')), join(tplDir, 'tokenizer_config.json'));
});

test('chat errors: the template\'s own error with file and line, a conversation not ending with the assistant, no template', () => {
  const tok = loadTokenizer(TOK);
  const sys = writeChats('sys.jsonl', [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] },
    { messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }]);
  assert.throws(() => loadPairData({ ...base, path: sys }, tok), /sys\.jsonl:2: the chat template of .*tokenizer_config\.json failed to render this conversation: this template has no system role/);
  const last = writeChats('last.jsonl', [{ messages: [{ role: 'assistant', content: 'b' }, { role: 'user', content: 'a' }] }]);
  assert.throws(() => loadPairData({ ...base, path: last }, tok), /last\.jsonl:1: the last message is the user's, not the assistant's/);
  const none = join(dir, 'none.json');
  writeFileSync(none, '{"bos_token": "<s>"}');
  assert.throws(() => loadChatTemplate(none), /none\.json: has no "chat_template" string/);
  assert.throws(() => loadPairData({ ...base, path: last, chatTemplate: undefined }, tok), /stories260K\/tokenizer_config\.json: no such file; data\.format chat needs/);
});

test('a short run on conversations (data.format: chat) trains', async () => {
  const paras = splitParagraphs(readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8')).slice(0, 60);
  const chats = paras.map((p) => {
    const i = p.search(/[.!?]/) + 1 || 40;
    return { messages: [{ role: 'user', content: p.slice(0, i) }, { role: 'assistant', content: p.slice(i).trim() }] };
  });
  const path = writeChats('stories.jsonl', chats);
  const recipe = join(dir, 'chat.yaml');
  writeFileSync(recipe, `name: chat
outDir: ${join(dir, 'runs')}
seed: 2
data: {path: ${path}, format: chat, tokenizer: ${TOK}, chatTemplate: ${base.chatTemplate}}
teacher: {kind: checkpoint, path: ${join(data, 'stories260K', 'stories260K.bin')}}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32}
loss: {alpha: 0.5}
train: {steps: 30, batchSize: 8, seqLen: 64, lr: 0.02, checkpointEvery: 0, schedule: {kind: constant}}
eval: {every: 0, samples: {prompts: ["USER: Tom had a ball."], maxTokens: 8}}
monitor: {logEvery: 10, progress: false}
`);
  const s = await runRecipeFile({ recipePath: recipe });
  const ce = s.loop.history.map((h) => h.ce);
  const first = ce.slice(0, 5).reduce((a, x) => a + x) / 5, last = ce.slice(-5).reduce((a, x) => a + x) / 5;
  assert.ok(last < first - 0.3, `CE ${first} over the first 5 steps, ${last} over the last 5`);
});
