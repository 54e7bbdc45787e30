// The tiny KD recipe the training tests share: the first `paragraphs` paragraphs of the real
// TinyStories text, the real stories260K teacher and tok512, a 1-layer dim-16 student. Each test
// gives its own seed and train/eval lines. Writes files only; runs nothing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const data = join('..', 'shared', 'data');

export interface TinyRecipes {
  /** The temp folder holding the corpus, the recipes, runs/ and the shard cache. */
  dir: string;
  /** Writes `<name>.yaml` and returns its path. */
  recipe(name: string, extra?: string): string;
}

export function tinyRecipes(prefix: string, o: { paragraphs: number; seed: number; train: string; eval: string }): TinyRecipes {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const corpus = join(dir, 'stories.txt');
  writeFileSync(corpus, readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/).slice(0, o.paragraphs).join('\n\n'));
  return {
    dir,
    recipe(name: string, extra = ''): string {
      const p = join(dir, `${name}.yaml`);
      writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
seed: ${o.seed}
data: {path: ${corpus}, tokenizer: ${join(data, 'stories260K', 'tok512.bin')}, cacheDir: ${join(dir, 'cache')}}
teacher: {kind: checkpoint, path: ${join(data, 'stories260K', 'stories260K.bin')}}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32}
train: ${o.train}
eval: ${o.eval}
monitor: {logEvery: 1, progress: false}
${extra}`);
      return p;
    },
  };
}
