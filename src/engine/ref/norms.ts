// Reference RMSNorm and LayerNorm, forward and backward, one row of C channels at a time.
// Row statistics and the weight-gradient sums are taken in float64; outputs are stored f32.
import { needLen, needSizes } from './check.js';

/** inp (N,C), weight (C) -> out (N,C), rstd (N); out = inp * rstd * weight, rstd = 1/sqrt(mean(inp²)+eps). */
export function rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array,
                               N: number, C: number, eps: number): void {
  const op = 'rmsnormForward';
  needSizes(op, { N, C });
  needLen(op, 'out', out, N * C); needLen(op, 'rstd', rstd, N);
  needLen(op, 'inp', inp, N * C); needLen(op, 'weight', weight, C);
  for (let i = 0; i < N; i++) {
    const x = i * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[x + c] * inp[x + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) out[x + c] = inp[x + c] * r * weight[c];
    rstd[i] = r;
  }
}

/**
 * dOut (N,C), inp (N,C), weight (C), rstd (N) -> dInp (N,C) overwritten, dWeight (C) accumulated.
 * dInp = rstd * (dOut*weight - inp * rstd² * mean(dOut*weight*inp)); dWeight += Σ_rows dOut*inp*rstd.
 */
export function rmsnormBackward(dInp: Float32Array, dWeight: Float32Array, dOut: Float32Array, inp: Float32Array,
                                weight: Float32Array, rstd: Float32Array, N: number, C: number): void {
  const op = 'rmsnormBackward';
  needSizes(op, { N, C });
  needLen(op, 'dInp', dInp, N * C); needLen(op, 'dWeight', dWeight, C); needLen(op, 'dOut', dOut, N * C);
  needLen(op, 'inp', inp, N * C); needLen(op, 'weight', weight, C); needLen(op, 'rstd', rstd, N);
  const dw = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    const x = i * C, r = rstd[i];
    let dot = 0; // Σ dOut*weight*inp
    for (let c = 0; c < C; c++) dot += dOut[x + c] * weight[c] * inp[x + c];
    const k = (r * r * dot) / C;
    for (let c = 0; c < C; c++) {
      dInp[x + c] = r * (dOut[x + c] * weight[c] - inp[x + c] * k);
      dw[c] += dOut[x + c] * inp[x + c] * r;
    }
  }
  for (let c = 0; c < C; c++) dWeight[c] += dw[c];
}

/** inp (N,C), weight (C), bias (C) -> out (N,C), mean (N), rstd (N); biased variance. */
export function layernormForward(out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array,
                                 weight: Float32Array, bias: Float32Array, N: number, C: number, eps: number): void {
  const op = 'layernormForward';
  needSizes(op, { N, C });
  needLen(op, 'out', out, N * C); needLen(op, 'mean', mean, N); needLen(op, 'rstd', rstd, N);
  needLen(op, 'inp', inp, N * C); needLen(op, 'weight', weight, C); needLen(op, 'bias', bias, C);
  for (let i = 0; i < N; i++) {
    const x = i * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += inp[x + c];
    const mu = s / C;
    let vs = 0;
    for (let c = 0; c < C; c++) vs += (inp[x + c] - mu) * (inp[x + c] - mu);
    const r = 1 / Math.sqrt(vs / C + eps);
    for (let c = 0; c < C; c++) out[x + c] = (inp[x + c] - mu) * r * weight[c] + bias[c];
    mean[i] = mu;
    rstd[i] = r;
  }
}

/**
 * dOut (N,C), inp, weight, mean, rstd -> dInp (N,C) overwritten; dWeight, dBias (C) accumulated.
 * With xhat = (inp-mean)*rstd and g = dOut*weight: dInp = rstd * (g - mean(g) - xhat*mean(g*xhat)).
 */
export function layernormBackward(dInp: Float32Array, dWeight: Float32Array, dBias: Float32Array, dOut: Float32Array,
                                  inp: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array,
                                  N: number, C: number): void {
  const op = 'layernormBackward';
  needSizes(op, { N, C });
  needLen(op, 'dInp', dInp, N * C); needLen(op, 'dWeight', dWeight, C); needLen(op, 'dBias', dBias, C);
  needLen(op, 'dOut', dOut, N * C); needLen(op, 'inp', inp, N * C); needLen(op, 'weight', weight, C);
  needLen(op, 'mean', mean, N); needLen(op, 'rstd', rstd, N);
  const dw = new Float64Array(C), db = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    const x = i * C, mu = mean[i], r = rstd[i];
    let gMean = 0, gxMean = 0;
    for (let c = 0; c < C; c++) {
      const g = dOut[x + c] * weight[c];
      gMean += g;
      gxMean += g * (inp[x + c] - mu) * r;
    }
    gMean /= C; gxMean /= C;
    for (let c = 0; c < C; c++) {
      const xhat = (inp[x + c] - mu) * r;
      dInp[x + c] = r * (dOut[x + c] * weight[c] - gMean - xhat * gxMean);
      dw[c] += dOut[x + c] * xhat;
      db[c] += dOut[x + c];
    }
  }
  for (let c = 0; c < C; c++) { dWeight[c] += dw[c]; dBias[c] += db[c]; }
}
