// Element-wise closeness for arrays that cross zero (gradients, per-row losses): passes when
// |got − want| <= atol + rtol·|want| everywhere, with atol = rtol·max|want| when `scaled`, else rtol.
// Used by the native-vs-ref loss tests; it knows nothing of any op.
import assert from 'node:assert/strict';

export function closeScaled(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, scaled: boolean): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let big = 0;
  for (let i = 0; i < want.length; i++) big = Math.max(big, Math.abs(want[i]));
  const atol = scaled ? rtol * big : rtol;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) {
      assert.fail(`${what}[${i}]: got ${g}, want ${w} (|diff| ${Math.abs(g - w)} > ${atol + rtol * Math.abs(w)})`);
    }
  }
}
