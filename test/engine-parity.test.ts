// Engine parity: every op of every available backend (ref always, native when built) against the
// PyTorch fixtures of scripts/gen-engine-fixtures.py — every forward output and every gradient,
// plus the accumulate/overwrite rules, the in-place cases the contract allows, and bad sizes.
// A native op whose addon function does not exist yet is skipped by name, not failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, selectBackend } from '../src/engine/select.js';
import { loadNativeAddon } from '../src/engine/native/index.js';
import { EngineError, type Backend, type RopeMode } from '../src/engine/backend.js';
import { ropeTables } from '../src/engine/rope-tables.js';
import { assertClose, loadFixture, type FixtureCase, type Tolerance } from './helpers/fixtures.js';

// Every expected value below comes from test/fixtures/engine/<op>.json/.bin, written by
// `/usr/bin/python3 scripts/gen-engine-fixtures.py` (PyTorch 1.13 autograd in float64, stored f32).
// Tolerances: |got - want| <= atol + rtol*|want|. Each says why it is what it is; native sums in f32
// (other order, SIMD lanes), so the bounds are set by f32 rounding (eps = 6e-8), not by ref.
const TOL = {
  // A dot product of K terms of size ~1: f32 accumulation error grows like eps*K at worst.
  gemm: (K: number): Tolerance => ({ rtol: 1e-5, atol: 1e-5 * Math.sqrt(Math.max(K, 1)) }),
  // Gathers, scatters, top-k values: stored numbers moved, never rounded.
  exact: { rtol: 0, atol: 0 } as Tolerance,
  // A few f32 additions of stored values (repeated ids, a pre-filled gradient plus a sum).
  scatterAdd: { rtol: 1e-6, atol: 1e-6 } as Tolerance,
  // One row reduction over C <= 257 channels then a product: a few ulps of the row scale.
  normFwd: { rtol: 1e-5, atol: 1e-5 } as Tolerance,
  // Backward subtracts two row means (cancellation) and parameter grads sum N rows.
  normBwd: { rtol: 1e-4, atol: 2e-5 } as Tolerance,
  // Two products and one sum per element; tables identical f32 inputs.
  rope: { rtol: 1e-6, atol: 1e-6 } as Tolerance,
  // rope-tables.ts vs numpy cos/sin of the same f32 angle: differ only in libm's last bit.
  ropeTables: { rtol: 0, atol: 2e-7 } as Tolerance,
  // Softmax over Tk <= 17 keys and HS <= 64 dot products; exp/log in f32 on native.
  attnFwd: { rtol: 1e-5, atol: 1e-5 } as Tolerance,
  // Backward chains two dot products and a softmax Jacobian; dk/dv sum over query heads and rows.
  attnBwd: { rtol: 1e-4, atol: 5e-5 } as Tolerance,
  // Elementwise exp/tanh: a couple of ulps relative, and atol for values crossing zero.
  act: { rtol: 1e-5, atol: 1e-6 } as Tolerance,
  // lse of up to 1031 logits up to |90|: f32 exp-sum relative error ~1e-6, absolute on lse ~ |lse|*eps.
  ceFwd: { rtol: 1e-5, atol: 1e-5 } as Tolerance,
  // Probabilities exp(logit - lse) in f32: absolute error bounded by eps*|logit-lse|*p.
  ceBwd: { rtol: 1e-5, atol: 1e-6 } as Tolerance,
  // Per step: a division by sqrt(v)+eps; state kept in f32 between steps (PyTorch keeps f64 here).
  adamw: { rtol: 1e-5, atol: 1e-6 } as Tolerance,
};

const native = loadNativeAddon() as unknown as Record<string, unknown> | null;

/** A skip message when `b` is native and the addon lacks one of `fns`; undefined otherwise. */
function missingNative(b: Backend, fns: string[]): string | undefined {
  if (b.name !== 'native') return undefined;
  const gone = fns.filter((f) => typeof native?.[f] !== 'function');
  return gone.length ? `native addon has no ${gone.join(', ')} yet (native/ops-binding.cpp); skipped until it lands` : undefined;
}

/** Registers `<backend> <op> <case>`, skipped on native while any of `fns` is missing. */
function check(b: Backend, op: string, name: string, fns: string[], fn: () => void): void {
  const skip = missingNative(b, fns);
  test(`${b.name} ${op} ${name}`, skip ? { skip } : {}, fn);
}

const num = (c: FixtureCase, k: string): number => Number(c.params[k]);
const nans = (n: number): Float32Array => new Float32Array(n).fill(NaN);
const filled = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);
/** `base + delta`, elementwise in float64: the expected value of an accumulating gradient. */
const plus = (base: number, delta: Float32Array): Float64Array => Float64Array.from(delta, (d) => base + d);
/** Asserts fn throws a RangeError or EngineError whose message contains `mention`. */
function throwsNaming(fn: () => void, mention: string): void {
  assert.throws(fn, (e: unknown) => (e instanceof RangeError || e instanceof EngineError) && e.message.includes(mention),
    `expected a RangeError/EngineError mentioning ${mention}`);
}

const fx = {
  gemm: loadFixture('engine/gemm'), embedding: loadFixture('engine/embedding'), rmsnorm: loadFixture('engine/rmsnorm'),
  layernorm: loadFixture('engine/layernorm'), rope: loadFixture('engine/rope'), attention: loadFixture('engine/attention'),
  activations: loadFixture('engine/activations'), crossEntropy: loadFixture('engine/cross-entropy'),
  adamw: loadFixture('engine/adamw'), topk: loadFixture('engine/topk'),
};

test('fixtures cover every op with the sizes that matter', () => {
  // Counts from the last run of scripts/gen-engine-fixtures.py; a generator edit that drops cases fails here.
  const counts = Object.fromEntries(Object.entries(fx).map(([k, v]) => [k, v.cases.length]));
  assert.deepEqual(counts, { gemm: 31, embedding: 4, rmsnorm: 5, layernorm: 5, rope: 6, attention: 7, activations: 4,
    crossEntropy: 7, adamw: 4, topk: 8 });
  assert.ok(fx.gemm.cases.some((c) => c.name.startsWith('257x257x257')));
});

for (const c of fx.rope.cases) {
  test(`tables ropeTables ${c.name}`, () => {
    const t = ropeTables(num(c, 'T'), num(c, 'HS'), num(c, 'theta'), num(c, 'pos0'));
    assertClose(t.cos, c.f32('cos'), TOL.ropeTables, 'cos');
    assertClose(t.sin, c.f32('sin'), TOL.ropeTables, 'sin');
  });
}

// DISTILL_BACKEND=ref|native narrows the run to one backend (native then must load); unset: all.
const backends = process.env.DISTILL_BACKEND ? [selectBackend(process.env.DISTILL_BACKEND)] : availableBackends();

for (const b of backends) {
  // ---------------------------------------------------------------- gemm
  for (const c of fx.gemm.cases) {
    check(b, 'gemm', c.name, ['gemm'], () => {
      const M = num(c, 'M'), N = num(c, 'N'), K = num(c, 'K'), alpha = num(c, 'alpha'), beta = num(c, 'beta');
      // beta == 0: C starts as NaN, which must not leak into the result.
      const out = beta !== 0 ? c.f32('c_in') : nans(M * N);
      b.gemm(out, c.f32('a'), c.f32('b'), M, N, K, c.params.transA === true, c.params.transB === true, alpha, beta);
      assertClose(out, c.f32('c'), TOL.gemm(K), `${b.name} gemm ${c.name} c`);
    });
  }
  check(b, 'gemm', 'bad sizes', ['gemm'], () => {
    const f = (n: number) => new Float32Array(n);
    throwsNaming(() => b.gemm(f(6), f(5), f(6), 2, 3, 3, false, false, 1, 0), "'a'");
    throwsNaming(() => b.gemm(f(5), f(6), f(9), 2, 3, 3, false, false, 1, 0), "'c'");
    throwsNaming(() => b.gemm(f(6), f(6), f(8), 2, 3, 3, false, true, 1, 0), "'b'");
    throwsNaming(() => b.gemm(f(6), f(6), f(9), -2, 3, 3, false, false, 1, 0), "'M'");
  });

  // ---------------------------------------------------------------- embedding
  for (const c of fx.embedding.cases) {
    const N = num(c, 'N'), V = num(c, 'V'), C = num(c, 'C');
    check(b, 'embedding', c.name, ['embeddingForward', 'embeddingBackward'], () => {
      const out = nans(N * C);
      b.embeddingForward(out, c.i32('ids'), c.f32('table'), N, V, C);
      assertClose(out, c.f32('out'), TOL.exact, 'out');
      // dTable is a parameter gradient: it must ADD to what is already there.
      const dTable = filled(V * C, 0.25);
      b.embeddingBackward(dTable, c.f32('dOut'), c.i32('ids'), N, V, C);
      assertClose(dTable, plus(0.25, c.f32('dTable')), TOL.scatterAdd, 'dTable (pre-filled 0.25)');
    });
  }
  check(b, 'embedding', 'ids out of range and bad sizes', ['embeddingForward', 'embeddingBackward'], () => {
    const table = new Float32Array(3 * 2), out = new Float32Array(2 * 2);
    assert.throws(() => b.embeddingForward(out, Int32Array.from([0, 3]), table, 2, 3, 2), /ids/);
    assert.throws(() => b.embeddingForward(out, Int32Array.from([-1, 0]), table, 2, 3, 2), /ids/);
    assert.throws(() => b.embeddingBackward(table, out, Int32Array.from([1, 7]), 2, 3, 2), /ids/);
    throwsNaming(() => b.embeddingForward(out, Int32Array.from([0, 1]), table.subarray(1), 2, 3, 2), "'table'");
  });

  // ---------------------------------------------------------------- norms
  for (const c of fx.rmsnorm.cases) {
    const N = num(c, 'N'), C = num(c, 'C');
    check(b, 'rmsnorm', c.name, ['rmsnormForward', 'rmsnormBackward'], () => {
      const out = nans(N * C), rstd = nans(N);
      b.rmsnormForward(out, rstd, c.f32('inp'), c.f32('weight'), N, C, num(c, 'eps'));
      assertClose(out, c.f32('out'), TOL.normFwd, 'out');
      assertClose(rstd, c.f32('rstd'), TOL.normFwd, 'rstd');
      const dInp = nans(N * C), dWeight = filled(C, 0.5);
      b.rmsnormBackward(dInp, dWeight, c.f32('dOut'), c.f32('inp'), c.f32('weight'), c.f32('rstd'), N, C);
      assertClose(dInp, c.f32('dInp'), TOL.normBwd, 'dInp (overwritten over NaN)');
      assertClose(dWeight, plus(0.5, c.f32('dWeight')), TOL.normBwd, 'dWeight (pre-filled 0.5)');
    });
  }
  for (const c of fx.layernorm.cases) {
    const N = num(c, 'N'), C = num(c, 'C');
    check(b, 'layernorm', c.name, ['layernormForward', 'layernormBackward'], () => {
      const out = nans(N * C), mean = nans(N), rstd = nans(N);
      b.layernormForward(out, mean, rstd, c.f32('inp'), c.f32('weight'), c.f32('bias'), N, C, num(c, 'eps'));
      assertClose(out, c.f32('out'), TOL.normFwd, 'out');
      assertClose(mean, c.f32('mean'), TOL.normFwd, 'mean');
      assertClose(rstd, c.f32('rstd'), TOL.normFwd, 'rstd');
      const dInp = nans(N * C), dWeight = filled(C, 0.5), dBias = filled(C, -0.25);
      b.layernormBackward(dInp, dWeight, dBias, c.f32('dOut'), c.f32('inp'), c.f32('weight'), c.f32('mean'),
        c.f32('rstd'), N, C);
      assertClose(dInp, c.f32('dInp'), TOL.normBwd, 'dInp (overwritten over NaN)');
      assertClose(dWeight, plus(0.5, c.f32('dWeight')), TOL.normBwd, 'dWeight (pre-filled 0.5)');
      assertClose(dBias, plus(-0.25, c.f32('dBias')), TOL.normBwd, 'dBias (pre-filled -0.25)');
    });
  }
  check(b, 'norms', 'bad sizes', ['rmsnormForward', 'layernormForward'], () => {
    const f = (n: number) => new Float32Array(n);
    throwsNaming(() => b.rmsnormForward(f(6), f(2), f(6), f(2), 2, 3, 1e-5), "'weight'");
    throwsNaming(() => b.rmsnormForward(f(6), f(1), f(6), f(3), 2, 3, 1e-5), "'rstd'");
    throwsNaming(() => b.layernormForward(f(6), f(2), f(2), f(5), f(3), f(3), 2, 3, 1e-5), "'inp'");
  });

  // ---------------------------------------------------------------- rope
  for (const c of fx.rope.cases) {
    const B = num(c, 'B'), T = num(c, 'T'), NH = num(c, 'NH'), HS = num(c, 'HS'), mode = c.params.mode as RopeMode;
    const n = B * T * NH * HS;
    check(b, 'rope', c.name, ['ropeForward', 'ropeBackward'], () => {
      const out = nans(n);
      b.ropeForward(out, c.f32('inp'), c.f32('cos'), c.f32('sin'), B, T, NH, HS, mode);
      assertClose(out, c.f32('out'), TOL.rope, 'out');
      const dInp = nans(n);
      b.ropeBackward(dInp, c.f32('dOut'), c.f32('cos'), c.f32('sin'), B, T, NH, HS, mode);
      assertClose(dInp, c.f32('dInp'), TOL.rope, 'dInp');
    });
    check(b, 'rope', `${c.name} in place`, ['ropeForward', 'ropeBackward'], () => {
      const x = c.f32('inp');
      b.ropeForward(x, x, c.f32('cos'), c.f32('sin'), B, T, NH, HS, mode);
      assertClose(x, c.f32('out'), TOL.rope, 'out aliasing inp');
      const d = c.f32('dOut');
      b.ropeBackward(d, d, c.f32('cos'), c.f32('sin'), B, T, NH, HS, mode);
      assertClose(d, c.f32('dInp'), TOL.rope, 'dInp aliasing dOut');
    });
  }
  check(b, 'rope', 'bad sizes', ['ropeForward'], () => {
    const f = (n: number) => new Float32Array(n);
    throwsNaming(() => b.ropeForward(f(16), f(16), f(3), f(4), 1, 2, 2, 4, 'half'), "'cos'");
    throwsNaming(() => b.ropeForward(f(15), f(16), f(8), f(8), 1, 2, 2, 4, 'interleaved'), "'out'");
    assert.throws(() => b.ropeForward(f(12), f(12), f(6), f(6), 1, 2, 2, 3, 'half'), /HS|even|head size/);
  });

  // ---------------------------------------------------------------- attention
  for (const c of fx.attention.cases) {
    const B = num(c, 'B'), Tq = num(c, 'Tq'), Tk = num(c, 'Tk'), NH = num(c, 'NH'), NKV = num(c, 'NKV'), HS = num(c, 'HS');
    check(b, 'attention', c.name, ['attentionForward', 'attentionBackward'], () => {
      const out = nans(B * Tq * NH * HS), lse = nans(B * NH * Tq);
      b.attentionForward(out, lse, c.f32('q'), c.f32('k'), c.f32('v'), B, Tq, Tk, NH, NKV, HS);
      assertClose(out, c.f32('out'), TOL.attnFwd, 'out');
      assertClose(lse, c.f32('lse'), TOL.attnFwd, 'lse');
      // The backward gets PyTorch's out and lse, so a forward error cannot hide a backward one.
      const dq = nans(B * Tq * NH * HS), dk = nans(B * Tk * NKV * HS), dv = nans(B * Tk * NKV * HS);
      b.attentionBackward(dq, dk, dv, c.f32('dOut'), c.f32('q'), c.f32('k'), c.f32('v'), c.f32('out'), c.f32('lse'),
        B, Tq, Tk, NH, NKV, HS);
      assertClose(dq, c.f32('dq'), TOL.attnBwd, 'dq');
      assertClose(dk, c.f32('dk'), TOL.attnBwd, 'dk');
      assertClose(dv, c.f32('dv'), TOL.attnBwd, 'dv');
    });
  }
  check(b, 'attention', 'bad sizes', ['attentionForward'], () => {
    const f = (n: number) => new Float32Array(n);
    // Tq > Tk: more queries than keys cannot be causal.
    assert.throws(() => b.attentionForward(f(32), f(4), f(32), f(8), f(8), 1, 4, 1, 1, 1, 8), /Tq|Tk/);
    // NH = 3 query heads cannot share NKV = 2 kv heads.
    assert.throws(() => b.attentionForward(f(24), f(3), f(24), f(16), f(16), 1, 1, 1, 3, 2, 8), /NH|NKV/);
    throwsNaming(() => b.attentionForward(f(16), f(2), f(16), f(15), f(16), 1, 2, 2, 1, 1, 8), "'k'");
  });

  // ---------------------------------------------------------------- activations
  for (const c of fx.activations.cases) {
    const n = num(c, 'n');
    check(b, 'silu', c.name, ['siluForward', 'siluBackward'], () => {
      const out = nans(n);
      b.siluForward(out, c.f32('inp'), n);
      assertClose(out, c.f32('silu'), TOL.act, 'silu');
      const x = c.f32('inp');
      b.siluForward(x, x, n);
      assertClose(x, c.f32('silu'), TOL.act, 'silu in place');
      const d = nans(n);
      b.siluBackward(d, c.f32('dOut'), c.f32('inp'), n);
      assertClose(d, c.f32('dSilu'), TOL.act, 'dInp');
    });
    check(b, 'gelu', c.name, ['geluForward', 'geluBackward'], () => {
      const out = nans(n);
      b.geluForward(out, c.f32('inp'), n);
      assertClose(out, c.f32('gelu'), TOL.act, 'gelu');
      const x = c.f32('inp');
      b.geluForward(x, x, n);
      assertClose(x, c.f32('gelu'), TOL.act, 'gelu in place');
      const d = nans(n);
      b.geluBackward(d, c.f32('dOut'), c.f32('inp'), n);
      assertClose(d, c.f32('dGelu'), TOL.act, 'dInp');
    });
    check(b, 'swiglu', c.name, ['swigluForward', 'swigluBackward'], () => {
      const out = nans(n);
      b.swigluForward(out, c.f32('gate'), c.f32('up'), n);
      assertClose(out, c.f32('swiglu'), TOL.act, 'swiglu');
      const dGate = nans(n), dUp = nans(n);
      b.swigluBackward(dGate, dUp, c.f32('dOut'), c.f32('gate'), c.f32('up'), n);
      assertClose(dGate, c.f32('dGate'), TOL.act, 'dGate');
      assertClose(dUp, c.f32('dUp'), TOL.act, 'dUp');
    });
  }
  check(b, 'activations', 'bad sizes', ['siluForward', 'geluBackward', 'swigluForward'], () => {
    const f = (n: number) => new Float32Array(n);
    throwsNaming(() => b.siluForward(f(3), f(4), 4), "'out'");
    throwsNaming(() => b.geluBackward(f(4), f(4), f(3), 4), "'inp'");
    throwsNaming(() => b.swigluForward(f(4), f(4), f(2), 4), "'up'");
  });

  // ---------------------------------------------------------------- cross-entropy
  for (const c of fx.crossEntropy.cases) {
    const N = num(c, 'N'), V = num(c, 'V'), ig = num(c, 'ignoreIndex');
    check(b, 'crossEntropy', c.name, ['crossEntropyForward', 'crossEntropyBackward'], () => {
      const losses = nans(N), lse = nans(N);
      b.crossEntropyForward(losses, lse, c.f32('logits'), c.i32('targets'), N, V, ig);
      assertClose(losses, c.f32('losses'), TOL.ceFwd, 'losses');
      assertClose(lse, c.f32('lse'), TOL.ceFwd, 'lse');
      const dLogits = nans(N * V);
      b.crossEntropyBackward(dLogits, c.f32('dLosses'), c.f32('logits'), c.f32('lse'), c.i32('targets'), N, V, ig);
      assertClose(dLogits, c.f32('dLogits'), TOL.ceBwd, 'dLogits');
      const inPlace = c.f32('logits');
      b.crossEntropyBackward(inPlace, c.f32('dLosses'), inPlace, c.f32('lse'), c.i32('targets'), N, V, ig);
      assertClose(inPlace, c.f32('dLogits'), TOL.ceBwd, 'dLogits aliasing logits');
    });
  }
  check(b, 'crossEntropy', 'targets out of range and bad sizes', ['crossEntropyForward'], () => {
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => b.crossEntropyForward(f(2), f(2), f(6), Int32Array.from([0, 3]), 2, 3, -100), /target/);
    assert.throws(() => b.crossEntropyForward(f(2), f(2), f(6), Int32Array.from([-1, 0]), 2, 3, -100), /target/);
    throwsNaming(() => b.crossEntropyForward(f(2), f(2), f(5), Int32Array.from([0, 1]), 2, 3, -100), "'logits'");
  });

  // ---------------------------------------------------------------- adamw
  for (const c of fx.adamw.cases) {
    const n = num(c, 'n'), steps = num(c, 'steps');
    check(b, 'adamw', c.name, ['adamwStep'], () => {
      const p = c.f32('params'), m = new Float32Array(n), v = new Float32Array(n);
      const grads = c.f32('grads'), pA = c.f32('paramsAfter'), mA = c.f32('mAfter'), vA = c.f32('vAfter');
      for (let s = 0; s < steps; s++) {
        b.adamwStep(p, grads.subarray(s * n, (s + 1) * n), m, v, n, num(c, 'lr'), num(c, 'beta1'), num(c, 'beta2'),
          num(c, 'eps'), num(c, 'weightDecay'), s + 1);
        assertClose(p, pA.subarray(s * n, (s + 1) * n), TOL.adamw, `params after step ${s + 1}`);
        assertClose(m, mA.subarray(s * n, (s + 1) * n), TOL.adamw, `m after step ${s + 1}`);
        assertClose(v, vA.subarray(s * n, (s + 1) * n), TOL.adamw, `v after step ${s + 1}`);
      }
    });
  }
  check(b, 'adamw', 'bad sizes', ['adamwStep'], () => {
    const f = (n: number) => new Float32Array(n);
    throwsNaming(() => b.adamwStep(f(4), f(4), f(3), f(4), 4, 1e-3, 0.9, 0.999, 1e-8, 0, 1), "'m'");
  });

  // ---------------------------------------------------------------- top-k
  for (const c of fx.topk.cases) {
    const N = num(c, 'N'), V = num(c, 'V'), k = num(c, 'k');
    check(b, 'topk', c.name, ['topkForward', 'topkBackward'], () => {
      const values = nans(N * k), indices = new Int32Array(N * k).fill(-1);
      b.topkForward(values, indices, c.f32('inp'), N, V, k);
      assertClose(values, c.f32('values'), TOL.exact, 'values');
      assert.deepEqual(Array.from(indices), Array.from(c.i32('indices')), 'indices (ties: lower index first)');
      const dInp = nans(N * V);
      b.topkBackward(dInp, c.f32('dValues'), c.i32('indices'), N, V, k);
      assertClose(dInp, c.f32('dInp'), TOL.exact, 'dInp (overwritten over NaN)');
    });
  }
  check(b, 'topk', 'bad sizes', ['topkForward'], () => {
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => b.topkForward(f(8), new Int32Array(8), f(6), 2, 3, 4), /k/);
    throwsNaming(() => b.topkForward(f(4), new Int32Array(3), f(6), 2, 3, 2), "'indices'");
  });
}
