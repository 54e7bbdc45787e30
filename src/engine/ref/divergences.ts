// The KD divergences as per-element terms: for a teacher probability p and a student
// probability q over one support element, the loss term f(p, q) and h = q·∂f/∂q (constants
// dropped: they cancel through the softmax). It does not walk rows or handle temperature/masks.
//
// Sources: JSD(β) as in TRL's GKD `generalized_jsd_loss` (M = β·p_T + (1−β)·p_S, endpoints
// β=0 → KL(p_T||p_S), β=1 → KL(p_S||p_T) special-cased exactly, as TRL does); skew KLs as in
// DistiLLM (Ko et al. 2024, "DistiLLM: Towards Streamlined Distillation for LLMs", eq. SKL/SRKL).

import { EngineError } from '../backend.js';
import type { Divergence } from '../loss-kinds.js';
import { needRange } from './check.js';
import { logAddExp } from './row-walk.js';

/** Writes f into out[0] and h = q·∂f/∂q (up to an additive constant·q) into out[1]. */
export type ElementTerm = (p: number, lp: number, q: number, lq: number, out: Float64Array) => void;

const fkl: ElementTerm = (p, lp, _q, lq, out) => {
  out[0] = p > 0 ? p * (lp - lq) : 0;
  out[1] = -p;
};
const rkl: ElementTerm = (_p, lp, q, lq, out) => {
  out[0] = q > 0 ? q * (lq - lp) : 0;
  out[1] = out[0];
};
const softCe: ElementTerm = (p, _lp, _q, lq, out) => {
  out[0] = p > 0 ? -p * lq : 0;
  out[1] = -p;
};
const tvd: ElementTerm = (p, _lp, q, _lq, out) => {
  out[0] = 0.5 * Math.abs(p - q);
  out[1] = 0.5 * q * Math.sign(q - p); // sign(0) = 0, as torch's abs' at 0
};

function jsd(beta: number): ElementTerm {
  if (beta === 0) return fkl;
  if (beta === 1) return rkl;
  const lb = Math.log(beta), l1b = Math.log(1 - beta);
  return (p, lp, q, lq, out) => {
    const lm = logAddExp(lb + lp, l1b + lq);
    const ts = q > 0 ? (1 - beta) * q * (lq - lm) : 0;
    out[0] = (p > 0 ? beta * p * (lp - lm) : 0) + ts;
    out[1] = ts; // ∂f/∂q = (1−β)·log(q/M): the p-terms cancel because βp + (1−β)q = M
  };
}

function skewForwardKl(lambda: number): ElementTerm {
  const ll = Math.log(lambda), l1l = Math.log(1 - lambda);
  return (p, lp, q, lq, out) => {
    const lm = logAddExp(ll + lp, l1l + lq);
    const m = Math.exp(lm);
    out[0] = p > 0 ? p * (lp - lm) : 0;
    out[1] = m > 0 ? -(1 - lambda) * p * q / m : 0;
  };
}

function skewReverseKl(lambda: number): ElementTerm {
  const ll = Math.log(lambda), l1l = Math.log(1 - lambda);
  return (p, lp, q, lq, out) => {
    const lm = logAddExp(ll + lq, l1l + lp);
    const m = Math.exp(lm);
    out[0] = q > 0 ? q * (lq - lm) : 0;
    out[1] = q > 0 ? q * (lq - lm - (lambda * q) / m) : 0;
  };
}

/** The element term of a divergence; throws for `mse` (not a sum over probabilities) and for
 *  β or λ outside [0, 1]. */
export function elementTerm(op: string, d: Divergence): ElementTerm {
  switch (d.kind) {
    case 'forward-kl': return fkl;
    case 'reverse-kl': return rkl;
    case 'soft-ce': return softCe;
    case 'tvd': return tvd;
    case 'jsd': needRange(op, 'divergence.beta', d.beta, 0, 1); return jsd(d.beta);
    case 'skew-forward-kl': needRange(op, 'divergence.lambda', d.lambda, 0, 1); return skewForwardKl(d.lambda);
    case 'skew-reverse-kl': needRange(op, 'divergence.lambda', d.lambda, 0, 1); return skewReverseKl(d.lambda);
    case 'mse': throw new EngineError(`${op}: divergence 'mse' works on dense teacher logits only; use a probability divergence for a sparse teacher`);
    default: {
      const never: never = d;
      throw new EngineError(`${op}: unknown divergence kind '${(never as { kind: string }).kind}'`);
    }
  }
}
