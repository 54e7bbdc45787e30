// The special tokens (BOS/EOS/PAD/UNK) of a Hugging Face tokenizer folder, read from the files
// beside tokenizer.json in the order of precedence transformers uses when it loads a tokenizer:
//   special_tokens_map.json  >  tokenizer_config.json  >  what tokenizer.json itself implies
// (its post-processor's first special token for BOS, then well-known names). A token may be
// given as a string or as an AddedToken object ({"content": ...}); it is looked up by content.
// The model's own files (config.json, generation_config.json) name the ids *generation* stops at;
// they are read by src/io (the checkpoint), not here.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';

export type SpecialRole = 'bos' | 'eos' | 'pad' | 'unk';
export const SPECIAL_ROLES: readonly SpecialRole[] = ['bos', 'eos', 'pad', 'unk'];

/** Token contents per role, with the file each came from; a role left out was named nowhere. */
export type SpecialTokenNames = Partial<Record<SpecialRole, { content: string; from: string }>>;

/** Files read, highest precedence first. */
export const SPECIAL_TOKEN_FILES = ['special_tokens_map.json', 'tokenizer_config.json'] as const;

/** The content a tokenizer_config / special_tokens_map entry names: a string, an AddedToken object, or null. */
function contentOf(file: string, key: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  throw new TokenizerError(file, `field '${key}' must be a token string or an object with a "content" string, got ${JSON.stringify(v)}`);
}

/** A JSON object file; one TokenizerError naming it when it is not one. */
function readJsonObject(file: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TokenizerError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new TokenizerError(file, 'expected a JSON object');
  return j as Record<string, unknown>;
}

/** Reads special_tokens_map.json and tokenizer_config.json in `dir` (either may be absent). */
export function readSpecialTokenNames(dir: string): SpecialTokenNames {
  const out: SpecialTokenNames = {};
  for (const name of SPECIAL_TOKEN_FILES) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const j = readJsonObject(file);
    for (const role of SPECIAL_ROLES) {
      if (out[role]) continue; // a file earlier in SPECIAL_TOKEN_FILES named it
      const key = `${role}_token`;
      const content = contentOf(file, key, j[key]);
      if (content !== null) out[role] = { content, from: file };
    }
  }
  return out;
}

/** tokenizer_config.json's chat_template (a Jinja string; a list of named templates gives its
 *  "default" one), or undefined when the folder has none. */
export function readChatTemplate(dir: string): string | undefined {
  const file = join(dir, 'tokenizer_config.json');
  if (!existsSync(file)) return undefined;
  const t = readJsonObject(file).chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'string') return t;
  const named = Array.isArray(t) ? (t as { name?: unknown; template?: unknown }[]).find((x) => x?.name === 'default') : undefined;
  if (typeof named?.template === 'string') return named.template;
  throw new TokenizerError(file, `chat_template must be a string or a list of {name, template} with a "default", got ${JSON.stringify(t).slice(0, 80)}`);
}
