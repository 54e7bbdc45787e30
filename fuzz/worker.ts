// One fuzzing child: feeds inputs [from, to) of one target to its parser, each input made
// deterministically from (seed, index), and sorts each outcome into accepted / clean error / unclean
// error / allocation over 1 GiB. Before each parse it writes the input to the work folder and its
// index and running counts to the progress file, so the parent (run.ts) can name and keep the input
// of a crash or a hang. It prints nothing but unclean samples (appended to samples.jsonl).
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Rng } from '../src/engine/rng.js';
import { mutateBytes, mutateTree } from './mutate.js';
import { TARGETS, type Seed } from './targets.js';
import { BIG_ALLOCATION_BYTES, bigAllocations, guardAllocations } from './alloc-guard.js';
import { inputPath, OUTCOMES, type Outcome } from './protocol.js';

/** Error types our readers throw for bad input (each names the file); anything else is a bug. */
const CLEAN = new Set(['FormatError', 'TfEventsCrcError', 'TokenizerError', 'DataError', 'StoreError', 'RecipeError']);

/** Deterministic per-input Rng seed. */
const inputSeed = (seed: number, i: number): number => (Math.imul(seed, 0x9e3779b1) + Math.imul(i, 0x85ebca6b) + i) >>> 0;

/** A seed drawn by weight. */
function pick(rng: Rng, seeds: Seed[]): Seed {
  let r = rng.nextFloat() * seeds.reduce((a, s) => a + (s.weight ?? 1), 0);
  for (const s of seeds) if ((r -= s.weight ?? 1) < 0) return s;
  return seeds[seeds.length - 1];
}

function isClean(e: unknown, path: string): boolean {
  return e instanceof Error && CLEAN.has(e.name) && e.message.includes(path);
}

async function main(): Promise<void> {
  const [targetName, seedDir, work, fromS, toS, seedS, progressFile] = process.argv.slice(2);
  const target = TARGETS.find((t) => t.name === targetName);
  if (!target) throw new Error(`fuzz worker: unknown target ${targetName}`);
  const seeds = JSON.parse(readFileSync(join(seedDir, target.name, 'seeds.json'), 'utf8')) as Seed[];
  const bytes = new Map<string, Uint8Array>();
  const trees = new Map<string, unknown>();
  const read = (p: string): Uint8Array => { let b = bytes.get(p); if (!b) { b = new Uint8Array(readFileSync(p)); bytes.set(p, b); } return b; };
  const tree = (p: string, kind: 'json' | 'yaml'): unknown => {
    if (!trees.has(p)) { const text = Buffer.from(read(p)).toString('utf8'); trees.set(p, kind === 'json' ? JSON.parse(text) : parseYaml(text)); }
    return trees.get(p);
  };
  const path = inputPath(work, target.shape, target.ext);
  const written = new Map<string, Uint8Array>(); // folder targets: what each file holds now
  const counts = new Float64Array(1 + OUTCOMES.length);
  const fd = openSync(progressFile, 'w');
  const samples = join(work, 'samples.jsonl');
  const seen = new Set<string>();
  guardAllocations();
  const from = Number(fromS), to = Number(toS), seed = Number(seedS);

  for (let i = from; i < to; i++) {
    const rng = new Rng(inputSeed(seed, i));
    const s = pick(rng, seeds);
    const names = Object.keys(s.mutable);
    const name = names[rng.nextInt(names.length)];
    const kind = s.mutable[name];
    const other = pick(rng, seeds);
    const otherFile = other.files[name] ?? Object.values(other.files)[0];
    let b: Uint8Array;
    if (kind !== 'bytes' && rng.nextFloat() < 0.6) {
      const t = mutateTree(rng, tree(s.files[name], kind));
      b = Buffer.from(kind === 'json' ? (JSON.stringify(t) ?? 'null') : stringifyYaml(t), 'utf8');
    } else {
      b = mutateBytes(rng, read(s.files[name]), read(otherFile));
    }
    if (target.fixup && rng.nextFloat() < 0.5) b = target.fixup(name, b);

    if (target.shape === 'file') writeFileSync(path, b);
    else {
      if ([...written.keys()].some((n) => !(n in s.files))) { rmSync(path, { recursive: true, force: true }); written.clear(); }
      mkdirSync(path, { recursive: true });
      for (const [n, p] of Object.entries(s.files)) {
        const want = n === name ? b : read(p);
        if (written.get(n) !== want) { writeFileSync(join(path, n), want); written.set(n, want); }
      }
      written.set(name, b);
    }
    counts[0] = i;
    writeSync(fd, new Uint8Array(counts.buffer), 0, counts.byteLength, 0);

    const allocBefore = bigAllocations();
    let outcome: Outcome = 'accepted';
    let err: unknown;
    try {
      await target.run(path);
    } catch (e) {
      err = e;
      outcome = isClean(e, path) ? 'clean' : 'unclean';
    }
    if (bigAllocations() > allocBefore || process.memoryUsage.rss() > 1.5 * BIG_ALLOCATION_BYTES) outcome = 'alloc';
    counts[1 + OUTCOMES.indexOf(outcome)]++;
    if (outcome === 'unclean' || outcome === 'alloc') {
      const e = err as Error | undefined;
      const what = outcome === 'alloc' ? 'allocation over 1 GiB' : `${e?.name ?? typeof err}: ${String(e?.message ?? err).split('\n')[0]}`;
      const key = what.replace(/\d+/g, 'N').replace(path, 'INPUT');
      if (!seen.has(key) && seen.size < 50) {
        seen.add(key);
        const keep = join(work, `${outcome}-${i}`);
        rmSync(keep, { recursive: true, force: true });
        if (target.shape === 'file') { mkdirSync(keep, { recursive: true }); writeFileSync(join(keep, `input${target.ext}`), b); }
        else { mkdirSync(keep, { recursive: true }); for (const n of Object.keys(s.files)) writeFileSync(join(keep, n), n === name ? b : read(s.files[n])); }
        appendFileSync(samples, JSON.stringify({ i, outcome, seed: s.name, file: name, what, stack: e?.stack?.split('\n').slice(1, 4).join(' | ') }) + '\n');
      }
    }
  }
  counts[0] = to;
  writeSync(fd, new Uint8Array(counts.buffer), 0, counts.byteLength, 0);
  closeSync(fd);
}

main().catch((e: unknown) => {
  process.stderr.write(`fuzz worker: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(3);
});
