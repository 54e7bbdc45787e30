// The two-document corpus of the store tests: validFraction 0.5 makes the train split one
// paragraph A (60..120 tok512 tokens) and T = |A| − 1 makes every training window A from its start
// — the one window a store's teacher context and an online teacher's call share exactly. B (val)
// is longer, giving whole eval windows. Writes the corpus file only.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '../../src/data/index.js';

export function twoDocCorpus(dir: string, tok: Tokenizer): { corpus: string; trainText: string } {
  const paragraphs = readFileSync(join('..', 'shared', 'data', 'tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/);
  const lens = paragraphs.map((p) => tok.encode(p, { bos: true }).length);
  const a = lens.findIndex((n) => n >= 60 && n <= 120);
  const b = lens.findIndex((n, i) => i > a && n >= 2 * lens[a] + 1);
  const corpus = join(dir, 'two.txt');
  writeFileSync(corpus, `${paragraphs[a]}\n\n${paragraphs[b]}`);
  return { corpus, trainText: paragraphs[a] };
}
