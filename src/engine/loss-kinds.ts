// The closed lists of the loss ops, each written once: the KD divergences, the tail modes of a
// sparse teacher and the forms teacher rows take. The recipe schema, the TypeScript types and the
// codes the native binding receives are derived from these tables, and test/loss-kinds.test.ts
// fails when the addon's C++ enums (native/ops.h) disagree with them. No math lives here.

/** The KD divergences (per-element terms of p = p_T, q = p_S; see src/engine/ref/divergences.ts).
 *  `param`: the name of the one parameter in [0,1] a divergence takes, and its recipe default.
 *  `fused`: computed by the fused head loss (mse works on logits, dense rows only). */
export const DIVERGENCES = [
  { name: 'forward-kl', code: 0, param: null, fused: true }, // KL(p_T || p_S), Hinton et al.'s KD
  { name: 'reverse-kl', code: 1, param: null, fused: true }, // KL(p_S || p_T)
  // Generalized JSD of GKD: β·KL(p_T||M) + (1−β)·KL(p_S||M); β=0 is forward KL, β=1 reverse KL.
  { name: 'jsd', code: 2, param: { key: 'beta', default: 0.5 }, fused: true }, // 0.5: the symmetric JSD
  // KL(p_T || λ p_T + (1−λ) p_S) and KL(p_S || λ p_S + (1−λ) p_T), DistiLLM (Ko et al. 2024).
  { name: 'skew-forward-kl', code: 3, param: { key: 'lambda', default: 0.1 }, fused: true }, // DistiLLM's choice
  { name: 'skew-reverse-kl', code: 4, param: { key: 'lambda', default: 0.1 }, fused: true }, // DistiLLM's choice
  { name: 'tvd', code: 5, param: null, fused: true }, // ½ Σ |p_T − p_S|
  { name: 'soft-ce', code: 6, param: null, fused: true }, // −Σ p_T log p_S
  { name: 'mse', code: 7, param: null, fused: false }, // mean_V (z_S − z_T)² on logits/T
] as const;

/** How a sparse teacher's mass outside its kept ids is matched (src/engine/ref/kd-sparse.ts):
 *  `ignore` renormalises both over the kept ids, `bucket` adds one bucket for the rest, `uniform`
 *  spreads the tail evenly over the ids not kept. */
export const TAIL_MODES = [
  { name: 'ignore', code: 0 },
  { name: 'bucket', code: 1 },
  { name: 'uniform', code: 2 },
] as const;

/** The forms of a teacher's rows the loss ops take (fields in src/engine/backend.ts LossTeacher):
 *  none (hard labels only), raw logits, processed log-probs, final hidden + head (fused op
 *  only), sparse top-k with tail. */
export const TEACHER_FORMS = [
  { name: 'none', code: 0 },
  { name: 'logits', code: 1 },
  { name: 'logprobs', code: 2 },
  { name: 'hidden', code: 3 },
  { name: 'sparse', code: 4 },
] as const;

type Entry = { readonly name: string; readonly code: number };
/** The names of a table, as a tuple type (for z.enum and friends). */
export type NamesOf<T extends readonly Entry[]> = { -readonly [I in keyof T]: T[I]['name'] };
export const namesOf = <T extends readonly Entry[]>(table: T): NamesOf<T> => table.map((e) => e.name) as NamesOf<T>;
/** name -> code of a table. */
export const codesOf = <T extends readonly Entry[]>(table: T): Record<T[number]['name'], number> =>
  Object.fromEntries(table.map((e) => [e.name, e.code])) as Record<T[number]['name'], number>;

type DivergenceEntry = typeof DIVERGENCES[number];
export type DivergenceName = DivergenceEntry['name'];
type ParamOf<E> = E extends { param: { key: infer K extends string } } ? { [P in K]: number } : unknown;
/** A divergence with its parameter, e.g. { kind: 'jsd', beta: 0.5 }. */
export type Divergence = { [E in DivergenceEntry as E['name']]: { kind: E['name'] } & ParamOf<E> }[DivergenceName];
/** The divergences the fused head loss computes. */
export type FusedDivergence = Extract<Divergence, { kind: Extract<DivergenceEntry, { fused: true }>['name'] }>;
export type TailMode = typeof TAIL_MODES[number]['name'];
export type TeacherFormName = typeof TEACHER_FORMS[number]['name'];

export const TAIL_MODE_CODES = codesOf(TAIL_MODES);
export const TEACHER_FORM_CODES = codesOf(TEACHER_FORMS);

/** The table entry of a divergence kind (undefined for a name not in the table). */
export function divergenceEntry(kind: string): DivergenceEntry | undefined {
  return DIVERGENCES.find((d) => d.name === kind);
}

/** The parameter of a divergence (β or λ), 0 for those without one. */
export function divergenceParam(d: Divergence): number {
  const e = divergenceEntry(d.kind);
  return e?.param ? (d as unknown as Record<string, number>)[e.param.key] : 0;
}
