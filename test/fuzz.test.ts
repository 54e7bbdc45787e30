// The fuzzer in the suite: first that it sees every kind of failure (a target that throws a
// TypeError, aborts, hangs and asks for 2 GiB on purpose), then a short run of every real parser
// (`npm run fuzz` runs 10^5 inputs each by hand) that must end with accepted inputs and clean
// errors only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.DISTILL_FUZZ_SELFTEST = '1';
const { fuzz, badCount } = await import('../fuzz/run.js');
const { TARGETS } = await import('../fuzz/targets.js');

test('the harness counts unclean errors, crashes, hangs and allocations over 1 GiB, and keeps each input', async () => {
  const out = mkdtempSync(join(tmpdir(), 'distill-fuzz-self-'));
  try {
    const [s] = await fuzz({ targets: ['selftest'], n: 120, seed: 3, hangMs: 2500, jobs: 1, out });
    assert.equal(s.inputs, 120);
    assert.ok(s.unclean > 0 && s.crashes > 0 && s.hangs > 0 && s.alloc > 0 && s.clean > 0, JSON.stringify(s));
    // Every input is counted once: a crashed or hung input is the one the child died on.
    assert.equal(s.accepted + s.clean + s.unclean + s.alloc + s.crashes + s.hangs, 120);
    for (const f of s.findings) {
      const kept = /\((\S+?)[,)]/.exec(f)?.[1];
      assert.ok(kept && existsSync(kept), `finding without its input: ${f}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a short run of every parser: accepted inputs and clean errors only', async () => {
  const out = mkdtempSync(join(tmpdir(), 'distill-fuzz-'));
  try {
    const names = TARGETS.map((t) => t.name).filter((n) => n !== 'selftest');
    assert.equal(names.length, 10, 'llama2c, safetensors, hf-folder, gguf, three tokenizer formats, recipe, store, tfevents');
    const rows = await fuzz({ targets: names, n: 150, seed: 7, hangMs: 30_000, jobs: 2, out });
    for (const r of rows) {
      assert.equal(badCount(r), 0, `${r.target}: ${r.findings.join('\n')}`);
      assert.equal(r.accepted + r.clean, 150, r.target);
      assert.ok(r.clean > 0, `${r.target}: no mutation was refused; the mutations do not reach the parser`);
    }
    assert.ok(rows.reduce((a, r) => a + r.accepted, 0) > 0, 'no mutated input was ever accepted');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
