// Score-driven BPE merging shared by the llama2.c and SentencePiece tokenizers: repeatedly merge
// the adjacent pair whose concatenation is a vocabulary piece with the highest score, the leftmost
// on ties. It does not split text into initial symbols nor map results to ids (callers do).
//
// A heap of candidate pairs with lazy invalidation (as SentencePiece's bpe_model.cc does) gives
// the same result as llama2.c's rescan-everything loop, in O(n log n) instead of O(n^2).

/** What a pair of adjacent symbols would merge into: the piece's id and score. */
export interface MergeTarget {
  id: number;
  score: number;
}

interface Candidate {
  score: number;
  left: number;
  right: number;
  /** Length of the merged string when the pair was queued; a mismatch later means it is stale. */
  size: number;
}

/** True when `a` should be merged before `b`: higher score, then smaller left index. */
function before(a: Candidate, b: Candidate): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

class CandidateHeap {
  private items: Candidate[] = [];
  get size(): number { return this.items.length; }
  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): Candidate {
    const h = this.items;
    const top = h[0];
    const last = h.pop() as Candidate;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Merges `symbols` (strings whose concatenation is the text) in place of a copy and returns the
 * final symbols in order. `lookup(s)` gives the piece `s` may become, or undefined when it is not
 * a mergeable piece. `frozen[i]` marks symbols that never merge (SentencePiece user-defined).
 * `onMerge`, when given, is told each merge (merged string, left part, right part).
 */
export function bpeMerge(
  symbols: readonly string[],
  lookup: (s: string) => MergeTarget | undefined,
  frozen?: readonly boolean[],
  onMerge?: (merged: string, left: string, right: string) => void,
): string[] {
  const n = symbols.length;
  if (n < 2) return symbols.slice();
  const piece = symbols.slice();
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
  const heap = new CandidateHeap();
  const consider = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    if (frozen && (frozen[left] || frozen[right])) return;
    const merged = piece[left] + piece[right];
    const t = lookup(merged);
    if (t === undefined) return;
    heap.push({ score: t.score, left, right, size: merged.length });
  };
  for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
  while (heap.size > 0) {
    const top = heap.pop();
    const l = piece[top.left], r = piece[top.right];
    if (l === '' || r === '' || l.length + r.length !== top.size) continue; // stale
    const merged = l + r;
    if (onMerge) onMerge(merged, l, r);
    piece[top.left] = merged;
    piece[top.right] = '';
    next[top.left] = next[top.right];
    if (next[top.right] >= 0) prev[next[top.right]] = top.left;
    consider(prev[top.left], top.left);
    consider(top.left, next[top.left]);
  }
  const out: string[] = [];
  for (let i = 0; i !== -1; i = next[i]) out.push(piece[i]);
  return out;
}
