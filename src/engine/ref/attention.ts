// Reference causal attention with grouped-query heads, forward and backward, in float64.
// Keeps the log-sum-exp per query row so the backward recomputes probabilities; no KV cache here.
import { needLen, needSizes } from './check.js';

function checkAttention(op: string, B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void {
  needSizes(op, { B, Tq, Tk, NH, NKV, HS });
  if (Tq > Tk) throw new RangeError(`${op}: Tq=${Tq} queries cannot exceed Tk=${Tk} keys (queries are the last Tq positions)`);
  if (NKV < 1 || NH % NKV !== 0) throw new RangeError(`${op}: NH=${NH} query heads must be a multiple of NKV=${NKV} key/value heads`);
}

/**
 * q (B,Tq,NH,HS), k (B,Tk,NKV,HS), v (B,Tk,NKV,HS) -> out (B,Tq,NH,HS), lse (B,NH,Tq).
 * Query t (absolute position Tk-Tq+t) attends keys 0..Tk-Tq+t; query head h reads kv head
 * floor(h / (NH/NKV)); scores are scaled by 1/sqrt(HS); lse = log Σ exp(scaled scores).
 */
export function attentionForward(out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
                                 B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void {
  const op = 'attentionForward';
  checkAttention(op, B, Tq, Tk, NH, NKV, HS);
  needLen(op, 'out', out, B * Tq * NH * HS); needLen(op, 'lse', lse, B * NH * Tq);
  needLen(op, 'q', q, B * Tq * NH * HS); needLen(op, 'k', k, B * Tk * NKV * HS); needLen(op, 'v', v, B * Tk * NKV * HS);
  const scale = 1 / Math.sqrt(HS), group = NH / NKV;
  const s = new Float64Array(Tk), acc = new Float64Array(HS);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const last = Tk - Tq + t;
        const qo = ((b * Tq + t) * NH + h) * HS;
        let max = -Infinity;
        for (let j = 0; j <= last; j++) {
          const ko = ((b * Tk + j) * NKV + kvh) * HS;
          let dot = 0;
          for (let d = 0; d < HS; d++) dot += q[qo + d] * k[ko + d];
          s[j] = dot * scale;
          if (s[j] > max) max = s[j];
        }
        let sum = 0;
        for (let j = 0; j <= last; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
        acc.fill(0);
        for (let j = 0; j <= last; j++) {
          const vo = ((b * Tk + j) * NKV + kvh) * HS, p = s[j] / sum;
          for (let d = 0; d < HS; d++) acc[d] += p * v[vo + d];
        }
        for (let d = 0; d < HS; d++) out[qo + d] = acc[d];
        lse[(b * NH + h) * Tq + t] = max + Math.log(sum);
      }
    }
  }
}

/**
 * dOut (B,Tq,NH,HS), q, k, v, out, lse from the forward -> dq (B,Tq,NH,HS), dk, dv (B,Tk,NKV,HS),
 * all three overwritten. With p = exp(score - lse): dv += p·dOut, ds = p·(dOut·v - dOut·out),
 * dq += ds·k·scale, dk += ds·q·scale (kv heads sum over the query heads of their group).
 */
export function attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dOut: Float32Array,
                                  q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
                                  B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void {
  const op = 'attentionBackward';
  checkAttention(op, B, Tq, Tk, NH, NKV, HS);
  const nq = B * Tq * NH * HS, nkv = B * Tk * NKV * HS;
  needLen(op, 'dq', dq, nq); needLen(op, 'dk', dk, nkv); needLen(op, 'dv', dv, nkv); needLen(op, 'dOut', dOut, nq);
  needLen(op, 'q', q, nq); needLen(op, 'k', k, nkv); needLen(op, 'v', v, nkv);
  needLen(op, 'out', out, nq); needLen(op, 'lse', lse, B * NH * Tq);
  const scale = 1 / Math.sqrt(HS), group = NH / NKV;
  const dk64 = new Float64Array(nkv), dv64 = new Float64Array(nkv), dq64 = new Float64Array(HS);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const last = Tk - Tq + t;
        const qo = ((b * Tq + t) * NH + h) * HS;
        const rowLse = lse[(b * NH + h) * Tq + t];
        let dOutDotOut = 0;
        for (let d = 0; d < HS; d++) dOutDotOut += dOut[qo + d] * out[qo + d];
        dq64.fill(0);
        for (let j = 0; j <= last; j++) {
          const ko = ((b * Tk + j) * NKV + kvh) * HS;
          let dot = 0, dp = 0;
          for (let d = 0; d < HS; d++) { dot += q[qo + d] * k[ko + d]; dp += dOut[qo + d] * v[ko + d]; }
          const p = Math.exp(dot * scale - rowLse);
          const ds = p * (dp - dOutDotOut) * scale;
          for (let d = 0; d < HS; d++) {
            dv64[ko + d] += p * dOut[qo + d];
            dq64[d] += ds * k[ko + d];
            dk64[ko + d] += ds * q[qo + d];
          }
        }
        for (let d = 0; d < HS; d++) dq[qo + d] = dq64[d];
      }
    }
  }
  for (let i = 0; i < nkv; i++) { dk[i] = dk64[i]; dv[i] = dv64[i]; }
}
