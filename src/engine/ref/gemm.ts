// Reference GEMM: C (M,N) = alpha * op(A)·op(B) + beta * C, every dot product summed in float64.
// The readable spec the native kernels are checked against; no blocking, no threads.
import { needLen, needSizes } from './check.js';

/**
 * c (M,N) f32 <- alpha * op(a) (M,K) · op(b) (K,N) + beta * c.
 * a stored (M,K) or, when transA, (K,M); b stored (K,N) or, when transB, (N,K).
 * beta == 0: c is written without being read (NaNs already in c do not propagate).
 */
export function gemm(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number,
                     transA: boolean, transB: boolean, alpha: number, beta: number): void {
  needSizes('gemm', { M, N, K });
  needLen('gemm', 'c', c, M * N);
  needLen('gemm', 'a', a, M * K);
  needLen('gemm', 'b', b, K * N);
  // Strides of op(A)[i,p] and op(B)[p,j] in the stored arrays.
  const aRow = transA ? 1 : K, aCol = transA ? M : 1;
  const bRow = transB ? 1 : N, bCol = transB ? K : 1;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let p = 0; p < K; p++) acc += a[i * aRow + p * aCol] * b[p * bRow + j * bCol];
      const prev = beta === 0 ? 0 : beta * c[i * N + j];
      c[i * N + j] = alpha * acc + prev;
    }
  }
}
