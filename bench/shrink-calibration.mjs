// How many calibration windows the width importance needs (docs/shrink.md): the overlap of the
// channels / KV groups a ranking from W windows of 128 keeps with those a 256-window ranking keeps,
// on stories260K and TinyStories-656K (the first W windows of the train split of stories.txt).
// Usage: npm run build && node bench/shrink-calibration.mjs
import { selectBackend } from '../dist/src/engine/select.js';
import { loadModelAndTokenizer } from '../dist/src/eval/load-pair.js';
import { corpusSplitWithBytes } from '../dist/src/eval/perplexity.js';
import { measureImportance, topIndices } from '../dist/src/model/shrink-importance.js';
import { firstWindows } from '../dist/src/train/student-init.js';
const be = selectBackend('native');
for (const [m, tok, H, C] of [['../shared/data/stories260K/stories260K.bin', '../shared/data/stories260K/tok512.bin', 96, 48], ['../shared/data/tinystories-656k', undefined, 192, 64]]) {
  const { model, tokenizer } = loadModelAndTokenizer(m, tok);
  const train = corpusSplitWithBytes('../shared/data/tinystories/stories.txt', tokenizer, 'train').tokens;
  const T = 128;
  const ref = measureImportance(be, model, firstWindows(train, 256, T), T);
  const overlap = (a, b) => a.filter((x) => b.includes(x)).length / a.length;
  for (const W of [8, 16, 32, 64, 128]) {
    const imp = measureImportance(be, model, firstWindows(train, W, T), T);
    const ffn = imp.ffn.map((f, l) => overlap(topIndices(f, H), topIndices(ref.ffn[l], H)));
    const ch = overlap(topIndices(imp.channels, C), topIndices(ref.channels, C));
    const kv = imp.kvGroups.map((g, l) => overlap(topIndices(g, model.config.nKvHeads * 3 / 4), topIndices(ref.kvGroups[l], model.config.nKvHeads * 3 / 4)));
    console.log(`${m} W=${W}: FFN top-${H} overlap with 256 windows ${Math.min(...ffn).toFixed(3)} (worst layer), channels top-${C} ${ch.toFixed(3)}, KV groups top-${model.config.nKvHeads * 3 / 4} ${Math.min(...kv).toFixed(3)}`);
  }
}
