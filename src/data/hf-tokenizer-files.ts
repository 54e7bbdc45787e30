// The tokenizer files a Hugging Face model folder carries, written from any of our tokenizers:
// tokenizer.json (copied from an HF source, converted from a scored SentencePiece-style one), tokenizer_config.json and
// special_tokens_map.json naming BOS/EOS/PAD/UNK (an HF source's own files are carried, chat
// template included). The model files and generation_config.json are src/io's and the export
// command's; this file writes tokenizer files only.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TokenizerError } from './errors.js';
import { SPECIAL_ROLES, SPECIAL_TOKEN_FILES } from './hf-special-tokens.js';
import { ggufTokenizerMetaOf, sourceChatTemplate } from './gguf-tokenizer.js';
import { tokenizerJsonFromLlamaVocab } from './tokenizer-json-from-vocab.js';
import type { Tokenizer } from './tokenizer.js';

/** Whether writeHfTokenizerFiles can write this tokenizer (checked before an export writes anything). */
export function hfTokenizerFilesProblem(tok: Tokenizer): string | null {
  if (tok.kind === 'hf') return null;
  try {
    ggufTokenizerMetaOf(tok);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Writes the tokenizer files into `dir` (which exists): an HF source's own, or converted ones. */
export function writeHfTokenizerFiles(dir: string, tok: Tokenizer): string[] {
  const problem = hfTokenizerFilesProblem(tok);
  if (problem) throw new TokenizerError(tok.source, problem);
  const written = ['tokenizer.json'];
  let carried: string[] = [];
  if (tok.kind === 'hf') {
    copyFileSync(tok.source, join(dir, 'tokenizer.json'));
    const from = dirname(tok.source);
    carried = SPECIAL_TOKEN_FILES.filter((f) => existsSync(join(from, f)));
    for (const f of carried) copyFileSync(join(from, f), join(dir, f));
    written.push(...carried);
  } else {
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJsonFromLlamaVocab(tok.source, ggufTokenizerMetaOf(tok))) + '\n');
  }
  if (!carried.includes('tokenizer_config.json')) {
    // The roles our tokenizer resolved, as transformers reads them back (tokenizer.json's own
    // post-processor decides whether BOS is added).
    const cfg: Record<string, unknown> = { tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false };
    const chat = sourceChatTemplate(tok); // a GGUF source's tokenizer.chat_template
    if (chat !== undefined) cfg.chat_template = chat;
    const map: Record<string, string> = {};
    for (const role of SPECIAL_ROLES) {
      const id = tok[`${role}Id`];
      if (id !== null) cfg[`${role}_token`] = map[`${role}_token`] = tok.idToPiece(id).replace(/^\n(.*)\n$/s, '$1'); // llama2.c stores "\n<s>\n"
    }
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(cfg, null, 2) + '\n');
    written.push('tokenizer_config.json');
    if (!carried.includes('special_tokens_map.json')) {
      writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify(map, null, 2) + '\n');
      written.push('special_tokens_map.json');
    }
  }
  return written;
}
