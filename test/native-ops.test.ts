// Quick checks of the native (C++) non-GEMM ops against float64 loops written right here, for odd
// sizes, both the single-threaded and the pool paths, accumulation, aliasing and bad arguments.
// Re-runs itself under DISTILL_ISA=avx2 and =scalar so every dispatch path is exercised.
// Not the PyTorch parity suite (that is test/engine-parity.test.ts); skipped when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, type NativeAddon } from '../src/engine/native/index.js';
import { ropeTables } from '../src/engine/rope-tables.js';
import { Rng } from '../src/engine/rng.js';
import { assertClose, type Tolerance } from './helpers/fixtures.js';

// Every expected value is computed in float64 by the loops in this file from the same f32 inputs.
// Tolerances: |got - want| <= atol + rtol*|want|, set by f32 rounding of the native sums.
const T_ELEM: Tolerance = { rtol: 1e-5, atol: 1e-6 };   // one exp and a few products per element
const T_ROW: Tolerance = { rtol: 1e-5, atol: 1e-5 };    // one f32 row reduction (C <= 257)
const T_BWD: Tolerance = { rtol: 1e-4, atol: 3e-5 };    // backward: cancellation of two row sums
const T_ATT: Tolerance = { rtol: 1e-4, atol: 3e-5 };    // attention: softmax over <= 64 keys, HS <= 16
const T_EXACT: Tolerance = { rtol: 0, atol: 0 };        // values moved, never rounded

const addon = loadNativeAddon() as (NativeAddon & { scratchInfo(): { threadBytes: number; sharedBytes: number; grows: number } }) | null;
const skip = addon ? false : 'native addon not built';
const rng = new Rng(1234);
const randn = (n: number, scale = 1): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * (rng.nextFloat() * 2 - 1) * 1.7;
  return a;
};
const CS = [1, 3, 17, 64, 257];

test('native addon runs the ISA that DISTILL_ISA asks for, never above the CPU\'s best', { skip }, (t) => {
  const want = process.env.DISTILL_ISA;
  const order = ['scalar', 'avx2', 'avx512'];
  if (!want || !order.includes(want)) { t.skip('DISTILL_ISA is not set to scalar, avx2 or avx512'); return; }
  const { isa, cpuIsa } = addon!.info();
  assert.equal(isa, order[Math.min(order.indexOf(want), order.indexOf(cpuIsa))]);
});

test('embedding forward gathers rows, backward scatter-adds (repeated ids accumulate)', { skip }, () => {
  for (const C of CS) for (const N of [7, 400]) {
    const V = 11;
    const ids = Int32Array.from({ length: N }, (_, i) => (i * 7 + 3) % V);
    const table = randn(V * C), out = new Float32Array(N * C);
    addon!.embeddingForward(out, ids, table, N, V, C);
    const want = new Float64Array(N * C);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) want[n * C + c] = table[ids[n] * C + c];
    assertClose(out, want, T_EXACT, `embeddingForward C=${C} N=${N}`);
    const dOut = randn(N * C), dTable = randn(V * C);
    const wantD = Float64Array.from(dTable);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) wantD[ids[n] * C + c] += dOut[n * C + c];
    addon!.embeddingBackward(dTable, dOut, ids, N, V, C);
    assertClose(dTable, wantD, { rtol: 1e-5, atol: 1e-5 }, `embeddingBackward C=${C} N=${N}`);
  }
});

test('embedding and cross-entropy refuse ids/targets out of range with a RangeError naming them', { skip }, () => {
  const out = new Float32Array(12), table = new Float32Array(20);
  assert.throws(() => addon!.embeddingForward(out, Int32Array.from([0, 1, 7]), table, 3, 5, 4),
    (e: Error) => e instanceof RangeError && /embeddingForward: ids\[2\] = 7 is outside \[0, V=5\)/.test(e.message));
  assert.throws(() => addon!.embeddingBackward(table, out, Int32Array.from([-1, 0, 0]), 3, 5, 4), RangeError);
  assert.throws(() => addon!.embeddingForward(new Float32Array(11), Int32Array.from([0, 1, 2]), table, 3, 5, 4),
    /embeddingForward: argument 'out' has 11 elements, needs N\*C = 12/);
  const logits = new Float32Array(6), l = new Float32Array(2), s = new Float32Array(2);
  assert.throws(() => addon!.crossEntropyForward(l, s, logits, Int32Array.from([1, 3]), 2, 3, -100),
    (e: Error) => e instanceof RangeError && /targets\[1\] = 3 is outside \[0, V=3\) and is not ignoreIndex=-100/.test(e.message));
  addon!.crossEntropyForward(l, s, logits, Int32Array.from([1, -100]), 2, 3, -100);  // ignoreIndex is fine
  assert.throws(() => addon!.topkBackward(logits, l, Int32Array.from([0, 3]), 2, 3, 1), RangeError);
  assert.throws(() => addon!.attentionForward(out, l, out, out, out, 1, 1, 1, 3, 2, 4), /NH=3 must be a positive multiple of NKV=2/);
});

test('rmsnorm and layernorm forward/backward (dWeight, dBias accumulate; dInp overwritten)', { skip }, () => {
  const eps = 1e-5;
  for (const C of CS) for (const N of [5, 300]) {
    const x = randn(N * C), w = randn(C), bias = randn(C), dOut = randn(N * C);
    // RMSNorm
    const out = new Float32Array(N * C), rstd = new Float32Array(N);
    addon!.rmsnormForward(out, rstd, x, w, N, C, eps);
    const wantOut = new Float64Array(N * C), wantR = new Float64Array(N);
    const dInp = randn(N * C), dW = randn(C), wantDW = Float64Array.from(dW), wantDI = new Float64Array(N * C);
    for (let n = 0; n < N; n++) {
      let ss = 0;
      for (let c = 0; c < C; c++) ss += x[n * C + c] ** 2;
      const r = 1 / Math.sqrt(ss / C + eps);
      wantR[n] = r;
      let dot = 0;
      for (let c = 0; c < C; c++) {
        wantOut[n * C + c] = x[n * C + c] * r * w[c];
        dot += dOut[n * C + c] * w[c] * x[n * C + c];
        wantDW[c] += dOut[n * C + c] * x[n * C + c] * r;
      }
      for (let c = 0; c < C; c++) wantDI[n * C + c] = r * w[c] * dOut[n * C + c] - x[n * C + c] * r ** 3 * dot / C;
    }
    assertClose(rstd, wantR, T_ROW, `rmsnorm rstd C=${C} N=${N}`);
    assertClose(out, wantOut, T_ROW, `rmsnorm out C=${C} N=${N}`);
    addon!.rmsnormBackward(dInp, dW, dOut, x, w, rstd, N, C);
    assertClose(dInp, wantDI, T_BWD, `rmsnorm dInp C=${C} N=${N}`);
    assertClose(dW, wantDW, T_BWD, `rmsnorm dWeight C=${C} N=${N}`);
    // LayerNorm
    const mean = new Float32Array(N);
    addon!.layernormForward(out, mean, rstd, x, w, bias, N, C, eps);
    const dB = randn(C), wantDB = Float64Array.from(dB);
    wantDW.set(dW);
    for (let n = 0; n < N; n++) {
      let mu = 0, v = 0;
      for (let c = 0; c < C; c++) mu += x[n * C + c] / C;
      for (let c = 0; c < C; c++) v += (x[n * C + c] - mu) ** 2 / C;
      const r = 1 / Math.sqrt(v + eps);
      wantR[n] = r;
      let m1 = 0, m2 = 0;
      for (let c = 0; c < C; c++) {
        const xh = (x[n * C + c] - mu) * r, g = dOut[n * C + c] * w[c];
        wantOut[n * C + c] = xh * w[c] + bias[c];
        m1 += g / C; m2 += g * xh / C;
        wantDW[c] += dOut[n * C + c] * xh;
        wantDB[c] += dOut[n * C + c];
      }
      for (let c = 0; c < C; c++) {
        const xh = (x[n * C + c] - mu) * r;
        wantDI[n * C + c] = r * (dOut[n * C + c] * w[c] - m1 - xh * m2);
      }
    }
    assertClose(rstd, wantR, T_ROW, `layernorm rstd C=${C} N=${N}`);
    assertClose(out, wantOut, T_ROW, `layernorm out C=${C} N=${N}`);
    addon!.layernormBackward(dInp, dW, dB, dOut, x, w, mean, rstd, N, C);
    assertClose(dInp, wantDI, T_BWD, `layernorm dInp C=${C} N=${N}`);
    assertClose(dW, wantDW, T_BWD, `layernorm dWeight C=${C} N=${N}`);
    assertClose(dB, wantDB, T_BWD, `layernorm dBias C=${C} N=${N}`);
  }
});

test('rope forward/backward, both pair conventions, out of place and in place', { skip }, () => {
  for (const [B, T, NH, HS] of [[2, 5, 3, 8], [2, 64, 4, 64], [1, 3, 1, 2]]) {
    const { cos, sin } = ropeTables(T, HS, 10000, 3);
    for (const mode of [0, 1]) {
      const n = B * T * NH * HS, half = HS / 2;
      const x = randn(n), out = new Float32Array(n);
      const want = new Float64Array(n), wantBack = new Float64Array(n);
      for (let r = 0; r < B * T * NH; r++) {
        const t = Math.floor(r / NH) % T;
        for (let i = 0; i < half; i++) {
          const [a, b] = mode === 0 ? [r * HS + 2 * i, r * HS + 2 * i + 1] : [r * HS + i, r * HS + i + half];
          const c = cos[t * half + i], s = sin[t * half + i];
          want[a] = x[a] * c - x[b] * s; want[b] = x[a] * s + x[b] * c;
          wantBack[a] = x[a] * c + x[b] * s; wantBack[b] = -x[a] * s + x[b] * c;
        }
      }
      addon!.ropeForward(out, x, cos, sin, B, T, NH, HS, mode);
      assertClose(out, want, T_ELEM, `ropeForward mode=${mode} HS=${HS}`);
      const inPlace = Float32Array.from(x);
      addon!.ropeBackward(inPlace, inPlace, cos, sin, B, T, NH, HS, mode);
      assertClose(inPlace, wantBack, T_ELEM, `ropeBackward in place mode=${mode} HS=${HS}`);
      addon!.ropeForward(inPlace, inPlace, cos, sin, B, T, NH, HS, mode);  // undoes the backward
      assertClose(inPlace, x, { rtol: 1e-5, atol: 1e-6 }, `rope forward(backward(x)) == x mode=${mode}`);
    }
  }
  assert.throws(() => addon!.ropeForward(new Float32Array(3), new Float32Array(3), new Float32Array(3), new Float32Array(3), 1, 1, 1, 3, 0), /HS=3 must be even/);
});

/** float64 causal GQA attention: out, lse and the gradients for dOut. */
function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, dOut: Float32Array,
                      B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number) {
  const out = new Float64Array(B * Tq * NH * HS), lse = new Float64Array(B * NH * Tq);
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  const scale = 1 / Math.sqrt(HS), off = Tk - Tq, grp = NH / NKV;
  const qi = (b: number, t: number, h: number) => ((b * Tq + t) * NH + h) * HS;
  const ki = (b: number, t: number, h: number) => ((b * Tk + t) * NKV + h) * HS;
  for (let b = 0; b < B; b++) for (let h = 0; h < NH; h++) for (let i = 0; i < Tq; i++) {
    const kvh = Math.floor(h / grp), nk = off + i + 1;
    const s = new Float64Array(nk), dp = new Float64Array(nk);
    for (let j = 0; j < nk; j++) {
      let d = 0;
      for (let x = 0; x < HS; x++) d += q[qi(b, i, h) + x] * k[ki(b, j, kvh) + x];
      s[j] = d * scale;
    }
    const m = Math.max(...s);
    let sum = 0;
    for (let j = 0; j < nk; j++) sum += Math.exp(s[j] - m);
    lse[(b * NH + h) * Tq + i] = m + Math.log(sum);
    const p = s.map((x) => Math.exp(x - m) / sum);
    for (let j = 0; j < nk; j++) for (let x = 0; x < HS; x++) out[qi(b, i, h) + x] += p[j] * v[ki(b, j, kvh) + x];
    let D = 0;
    for (let j = 0; j < nk; j++) {
      for (let x = 0; x < HS; x++) dp[j] += dOut[qi(b, i, h) + x] * v[ki(b, j, kvh) + x];
      D += p[j] * dp[j];
    }
    for (let j = 0; j < nk; j++) {
      const ds = p[j] * (dp[j] - D) * scale;
      for (let x = 0; x < HS; x++) {
        dq[qi(b, i, h) + x] += ds * k[ki(b, j, kvh) + x];
        dk[ki(b, j, kvh) + x] += ds * q[qi(b, i, h) + x];
        dv[ki(b, j, kvh) + x] += p[j] * dOut[qi(b, i, h) + x];
      }
    }
  }
  return { out, lse, dq, dk, dv };
}

test('attention forward/backward: causal GQA, odd T, Tq < Tk (KV-cache step), overwrite', { skip }, () => {
  const shapes: [number, number, number, number, number, number][] = [];
  for (const T of [1, 17, 64]) for (const HS of [8, 16]) shapes.push([2, T, T, 4, 2, HS]);
  shapes.push([2, 5, 21, 4, 2, 16], [1, 1, 33, 4, 1, 8], [2, 3, 70, 4, 2, 48], [1, 40, 40, 6, 6, 48]);
  for (const [B, Tq, Tk, NH, NKV, HS] of shapes) {
    const label = `B=${B} Tq=${Tq} Tk=${Tk} NH=${NH} NKV=${NKV} HS=${HS}`;
    const q = randn(B * Tq * NH * HS), k = randn(B * Tk * NKV * HS), v = randn(B * Tk * NKV * HS);
    const dOut = randn(q.length);
    const want = attentionRef(q, k, v, dOut, B, Tq, Tk, NH, NKV, HS);
    const out = new Float32Array(q.length), lse = new Float32Array(B * NH * Tq);
    addon!.attentionForward(out, lse, q, k, v, B, Tq, Tk, NH, NKV, HS);
    assertClose(out, want.out, T_ATT, `attention out ${label}`);
    assertClose(lse, want.lse, T_ATT, `attention lse ${label}`);
    const dq = randn(q.length), dk = randn(k.length), dv = randn(v.length);  // garbage: must be overwritten
    addon!.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, B, Tq, Tk, NH, NKV, HS);
    assertClose(dq, want.dq, T_ATT, `attention dq ${label}`);
    assertClose(dk, want.dk, T_ATT, `attention dk ${label}`);
    assertClose(dv, want.dv, T_ATT, `attention dv ${label}`);
  }
});

test('attention scratch is grow-only: repeated calls allocate nothing', { skip }, () => {
  const [B, T, NH, NKV, HS] = [2, 64, 4, 2, 16];
  const q = randn(B * T * NH * HS), k = randn(B * T * NKV * HS), v = randn(k.length);
  const out = new Float32Array(q.length), lse = new Float32Array(B * NH * T);
  const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(k.length);
  const step = () => {
    addon!.attentionForward(out, lse, q, k, v, B, T, T, NH, NKV, HS);
    addon!.attentionBackward(dq, dk, dv, out, q, k, v, out, lse, B, T, T, NH, NKV, HS);
  };
  step();
  const before = addon!.scratchInfo();
  for (let i = 0; i < 5; i++) step();
  assert.deepEqual(addon!.scratchInfo(), before);
});

test('results do not depend on the thread count (fixed chunks, no atomics)', { skip }, () => {
  const threads = addon!.info().threads;
  const [B, T, NH, NKV, HS] = [2, 64, 4, 2, 16], N = 300, C = 257;
  const q = randn(B * T * NH * HS), k = randn(B * T * NKV * HS), v = randn(k.length), x = randn(N * C), w = randn(C);
  const run = (n: number) => {
    addon!.setThreads(n);
    const out = new Float32Array(q.length), lse = new Float32Array(B * NH * T);
    const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(k.length);
    addon!.attentionForward(out, lse, q, k, v, B, T, T, NH, NKV, HS);
    addon!.attentionBackward(dq, dk, dv, q, q, k, v, out, lse, B, T, T, NH, NKV, HS);
    const o = new Float32Array(N * C), r = new Float32Array(N), m = new Float32Array(N), dW = new Float32Array(C), dB = new Float32Array(C);
    addon!.layernormForward(o, m, r, x, w, w, N, C, 1e-5);
    addon!.layernormBackward(o, dW, dB, x, x, w, m, r, N, C);
    return [out, lse, dq, dk, dv, o, dW, dB];
  };
  try {
    const one = run(1), three = run(3);
    one.forEach((a, i) => assert.deepEqual(three[i], a, `output ${i} differs between 1 and 3 threads`));
  } finally {
    addon!.setThreads(threads);
  }
});

test('silu, gelu (tanh), swiglu forward/backward, including out aliasing inp', { skip }, () => {
  const k0 = Math.sqrt(2 / Math.PI), k1 = 0.044715;
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  for (const n of [1, 3, 17, 64, 257, 40000]) {
    const x = randn(n, 4), up = randn(n), d = randn(n);
    x[0] = -30; if (n > 2) { x[1] = 30; x[2] = 0; }
    const want = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
    const silu = new Float32Array(n);
    addon!.siluForward(silu, x, n);
    assertClose(silu, want((i) => x[i] * sig(x[i])), T_ELEM, `siluForward n=${n}`);
    const dx = new Float32Array(n);
    addon!.siluBackward(dx, d, x, n);
    assertClose(dx, want((i) => d[i] * sig(x[i]) * (1 + x[i] * (1 - sig(x[i])))), T_ELEM, `siluBackward n=${n}`);
    const gelu = Float32Array.from(x);
    addon!.geluForward(gelu, gelu, n);  // in place
    const u = (i: number) => k0 * (x[i] + k1 * x[i] ** 3);
    assertClose(gelu, want((i) => 0.5 * x[i] * (1 + Math.tanh(u(i)))), T_ELEM, `geluForward n=${n}`);
    addon!.geluBackward(dx, d, x, n);
    assertClose(dx, want((i) => {
      const t = Math.tanh(u(i));
      return d[i] * (0.5 * (1 + t) + 0.5 * x[i] * (1 - t * t) * k0 * (1 + 3 * k1 * x[i] ** 2));
    }), T_ELEM, `geluBackward n=${n}`);
    const sw = new Float32Array(n);
    addon!.swigluForward(sw, x, up, n);
    assertClose(sw, want((i) => x[i] * sig(x[i]) * up[i]), T_ELEM, `swigluForward n=${n}`);
    const dG = new Float32Array(n), dU = new Float32Array(n);
    addon!.swigluBackward(dG, dU, d, x, up, n);
    assertClose(dG, want((i) => d[i] * up[i] * sig(x[i]) * (1 + x[i] * (1 - sig(x[i])))), T_ELEM, `swigluBackward dGate n=${n}`);
    assertClose(dU, want((i) => d[i] * x[i] * sig(x[i])), T_ELEM, `swigluBackward dUp n=${n}`);
  }
});

test('cross-entropy forward/backward: chunked lse, ignoreIndex, in-place backward', { skip }, () => {
  for (const [N, V] of [[3, 1], [4, 17], [5, 257], [3, 5000], [20, 2100]]) {
    const logits = randn(N * V, 8);
    if (V > 4100) logits[4100] = 60;  // max lands in a later chunk: exercises the online rescale
    const targets = Int32Array.from({ length: N }, (_, i) => (i === 1 ? -100 : (i * 13) % V));
    const losses = new Float32Array(N), lse = new Float32Array(N), dL = randn(N);
    addon!.crossEntropyForward(losses, lse, logits, targets, N, V, -100);
    const wantL = new Float64Array(N), wantS = new Float64Array(N), wantD = new Float64Array(N * V);
    for (let n = 0; n < N; n++) {
      let m = -Infinity, s = 0;
      for (let j = 0; j < V; j++) m = Math.max(m, logits[n * V + j]);
      for (let j = 0; j < V; j++) s += Math.exp(logits[n * V + j] - m);
      wantS[n] = m + Math.log(s);
      if (targets[n] === -100) continue;
      wantL[n] = wantS[n] - logits[n * V + targets[n]];
      for (let j = 0; j < V; j++) wantD[n * V + j] = dL[n] * (Math.exp(logits[n * V + j] - wantS[n]) - (j === targets[n] ? 1 : 0));
    }
    assertClose(lse, wantS, T_ROW, `crossEntropy lse N=${N} V=${V}`);
    assertClose(losses, wantL, T_ROW, `crossEntropy losses N=${N} V=${V}`);
    addon!.crossEntropyBackward(logits, dL, logits, lse, targets, N, V, -100);  // dLogits aliases logits
    assertClose(logits, wantD, T_ELEM, `crossEntropyBackward in place N=${N} V=${V}`);
  }
});

test('adamw matches the PyTorch formula over 3 steps, weight decay included', { skip }, () => {
  const n = 40001, lr = 1e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  const p = randn(n), m = new Float32Array(n), v = new Float32Array(n);
  const P = Float64Array.from(p), M = new Float64Array(n), Vv = new Float64Array(n);
  for (let step = 1; step <= 3; step++) {
    const g = randn(n);
    addon!.adamwStep(p, g, m, v, n, lr, b1, b2, eps, wd, step);
    for (let i = 0; i < n; i++) {
      P[i] -= lr * wd * P[i];
      M[i] = b1 * M[i] + (1 - b1) * g[i];
      Vv[i] = b2 * Vv[i] + (1 - b2) * g[i] * g[i];
      P[i] -= lr * (M[i] / (1 - b1 ** step)) / (Math.sqrt(Vv[i] / (1 - b2 ** step)) + eps);
    }
    assertClose(m, M, T_ELEM, `adamw m step ${step}`);
    assertClose(v, Vv, T_ELEM, `adamw v step ${step}`);
    assertClose(p, P, T_ELEM, `adamw params step ${step}`);
  }
  assert.throws(() => addon!.adamwStep(p, p, m, v, n, lr, b1, b2, eps, wd, 0), /step must be >= 1/);
});

test('top-k: sorted descending, ties lower index first; backward scatters', { skip }, () => {
  for (const [N, V, k] of [[3, 1, 1], [4, 17, 5], [2, 257, 257], [40, 3000, 50]]) {
    const inp = new Float32Array(N * V);
    for (let i = 0; i < N * V; i++) inp[i] = Math.round((rng.nextFloat() - 0.5) * 20) / 2;  // many ties
    const values = new Float32Array(N * k), indices = new Int32Array(N * k);
    addon!.topkForward(values, indices, inp, N, V, k);
    const wantV = new Float64Array(N * k), wantI = new Float64Array(N * k);
    for (let n = 0; n < N; n++) {
      const order = Array.from({ length: V }, (_, j) => j)
        .sort((a, b) => inp[n * V + b] - inp[n * V + a] || a - b).slice(0, k);
      order.forEach((j, r) => { wantI[n * k + r] = j; wantV[n * k + r] = inp[n * V + j]; });
    }
    assertClose(values, wantV, T_EXACT, `topk values N=${N} V=${V} k=${k}`);
    assertClose(indices, wantI, T_EXACT, `topk indices N=${N} V=${V} k=${k}`);
    const dV = randn(N * k), dInp = randn(N * V);
    addon!.topkBackward(dInp, dV, indices, N, V, k);
    const wantD = new Float64Array(N * V);
    for (let n = 0; n < N; n++) for (let r = 0; r < k; r++) wantD[n * V + indices[n * k + r]] = dV[n * k + r];
    assertClose(dInp, wantD, T_EXACT, `topkBackward N=${N} V=${V} k=${k}`);
  }
});

test('the same checks pass on the AVX2 and scalar kernels (DISTILL_ISA child runs)', { skip: skip || (process.env.DISTILL_ISA ? 'child run' : false) }, () => {
  const file = fileURLToPath(import.meta.url);
  for (const isa of ['avx2', 'scalar']) {
    const env: NodeJS.ProcessEnv = { ...process.env, DISTILL_ISA: isa };
    delete env.NODE_TEST_CONTEXT;  // else the child reports to this runner instead of printing TAP
    const r = spawnSync(process.execPath, ['--test', file], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `DISTILL_ISA=${isa} run failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
    assert.match(r.stdout, /# fail 0/);
    assert.doesNotMatch(r.stdout, /# SKIP native addon not built/);
  }
});
