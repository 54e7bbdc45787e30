// bf16 copies of a frozen model's matmul weights (a teacher's): packed once by the backend, then
// forward multiplies by them (Backend.gemmBf16: bf16 × bf16 summed in fp32) instead of the fp32
// params. The params are shared, not copied; embedding lookups and norms stay fp32.
import type { Backend, Bf16Weight } from '../engine/backend.js';
import { headParamName } from './forward.js';
import { type Model, param } from './model.js';

const MATMUL = /^layers\.\d+\.(wq|wk|wv|wo|w1|w2|w3|fc_w|proj_w)$/;

/**
 * The same model with bf16 copies of every attention and MLP projection and of the output head
 * (the tied embedding when tied), packed by `be`. For frozen models only: the copies never follow
 * later changes to params, and backward refuses a model that has them.
 */
export function withBf16Weights(be: Backend, model: Model): Model {
  const names = new Set(model.layout.entries.filter((e) => MATMUL.test(e.name)).map((e) => e.name));
  names.add(headParamName(model.config));
  const bf16 = new Map<string, Bf16Weight>();
  for (const e of model.layout.entries) {
    if (!names.has(e.name)) continue;
    const [N, K] = e.shape;
    bf16.set(e.name, be.packBf16(param(model, e.name), N, K));
  }
  return { ...model, bf16 };
}
