// Chat conversations as prompt/response pairs (data.format: chat): a tokenizer_config.json's
// `chat_template` is rendered with @huggingface/jinja, as transformers' apply_chat_template does
// (messages, add_generation_prompt, bos_token, eos_token; raise_exception is the library's). The last message must
// be the assistant's: the prompt is the conversation before it rendered with the generation cue,
// the response what the whole conversation adds to that. It does not tokenize (pairs.ts does).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { jsonlObjects } from './corpus.js';
import { DataError } from './errors.js';
import type { Pair } from './pairs.js';

export interface ChatTemplate {
  /** The tokenizer_config.json it came from. */
  source: string;
  template: Template;
  bosToken: string;
  eosToken: string;
}

/** A special token of tokenizer_config.json: a string, or {content: string}. */
function tokenText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return '';
}

/** The tokenizer_config.json at `path`, or in the folder `path` names, or beside the tokenizer file `path` names. */
export function findTokenizerConfig(path: string): string {
  if (path.endsWith('.json') && !path.endsWith('tokenizer.json')) return path;
  const dir = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  return join(dir, 'tokenizer_config.json');
}

/** Reads and compiles the chat template of a tokenizer_config.json (a string, or a list of named templates: 'default'). */
export function loadChatTemplate(configPath: string): ChatTemplate {
  if (!existsSync(configPath)) throw new DataError(configPath, 'no such file; data.format chat needs a tokenizer_config.json with a "chat_template" (set data.chatTemplate to its path)');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(configPath, `not valid JSON: ${(e as Error).message}`);
  }
  let src = cfg.chat_template;
  if (Array.isArray(src)) src = (src as { name?: unknown; template?: unknown }[]).find((t) => t.name === 'default')?.template;
  if (typeof src !== 'string') throw new DataError(configPath, 'has no "chat_template" string (or a list holding one named "default"); data.format chat needs one');
  let template: Template;
  try {
    template = new Template(src);
  } catch (e) {
    throw new DataError(configPath, `its chat_template does not parse: ${(e as Error).message}`);
  }
  return { source: configPath, template, bosToken: tokenText(cfg.bos_token), eosToken: tokenText(cfg.eos_token) };
}

interface Message { role: string; content: string }

function render(t: ChatTemplate, messages: Message[], addGenerationPrompt: boolean, path: string, line: number): string {
  try {
    // raise_exception is built into @huggingface/jinja's environment.
    return t.template.render({ messages, add_generation_prompt: addGenerationPrompt, bos_token: t.bosToken, eos_token: t.eosToken });
  } catch (e) {
    throw new DataError(path, `the chat template of ${t.source} failed to render this conversation: ${(e as Error).message}`, line);
  }
}

/** The pair of one JSONL record {messages: [{role, content}, ...]} (line numbers for errors). */
export function chatPair(t: ChatTemplate, rec: Record<string, unknown>, path: string, line: number): Pair {
  const ms = rec.messages;
  const bad = (why: string) => new DataError(path, `${why}; expected {"messages": [{"role": ..., "content": "..."}, ...]} ending with the assistant's message`, line);
  if (!Array.isArray(ms) || ms.length < 2) throw bad('"messages" is not a list of at least two messages');
  const messages = ms.map((m: unknown, i) => {
    const r = m as Partial<Message> | null;
    if (typeof r?.role !== 'string' || typeof r.content !== 'string') throw bad(`message ${i + 1} needs string "role" and "content"`);
    return { role: r.role, content: r.content };
  });
  if (messages[messages.length - 1].role !== 'assistant') throw bad(`the last message is the ${messages[messages.length - 1].role}'s, not the assistant's`);
  let prompt = render(t, messages.slice(0, -1), true, path, line);
  const full = render(t, messages, false, path, line);
  if (!full.startsWith(prompt)) throw new DataError(path, `the rendered conversation does not begin with its rendered prompt (the conversation before the last message, with add_generation_prompt), so the response cannot be cut out; the template ${t.source} renders past turns differently`, line);
  const response = full.slice(prompt.length);
  // The pair is encoded with the tokenizer's BOS first: a BOS the template writes is not repeated.
  if (t.bosToken !== '' && prompt.startsWith(t.bosToken)) prompt = prompt.slice(t.bosToken.length);
  return { prompt, response };
}

/** The pairs of a chat JSONL file, one conversation a line. */
export function parseChats(path: string, text: string, t: ChatTemplate): Pair[] {
  const pairs = jsonlObjects(path, text, 'a "messages" list').map(({ line, rec }) => chatPair(t, rec, path, line));
  if (pairs.length === 0) throw new DataError(path, 'holds no conversation');
  return pairs;
}
