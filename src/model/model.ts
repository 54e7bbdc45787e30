// A model in memory: its config, the one layout table, and ONE Float32Array each for parameters
// and gradients (same offsets), plus the rotary tables built once. Also the standard random init.
// It does not run anything (forward.ts / backward.ts) nor read files (src/io/ does).

import { ropeTables } from '../engine/rope-tables.js';
import type { Rng } from '../engine/rng.js';
import type { Bf16Weight } from '../engine/backend.js';
import { type ModelConfig, headSize, validateConfig } from './config.js';
import { type ParamLayout, buildLayout, paramView } from './layout.js';
import { ModelError } from './errors.js';

export interface Model {
  config: ModelConfig;
  layout: ParamLayout;
  /** All parameters, carved by `layout` (length layout.total). */
  params: Float32Array;
  /** Gradients with the same offsets; ops ACCUMULATE into it, zero it with zeroGrads. */
  grads: Float32Array;
  /** Rotary tables (maxSeqLen, HS/2) for the llama family; empty for gpt2. */
  ropeCos: Float32Array;
  ropeSin: Float32Array;
  /** Frozen bf16 copies of the matmul weights by name (withBf16Weights): forward multiplies by
   *  these instead. Only on inference models (a teacher); backward refuses a model that has them. */
  bf16?: ReadonlyMap<string, Bf16Weight>;
}

/**
 * A model over `params` (kept, not copied) or, when omitted, over zeros — loaders fill
 * `model.params` in place through paramView. Throws ConfigError / ModelError on a bad config or
 * a params array of the wrong length.
 */
export function createModel(config: ModelConfig, params?: Float32Array): Model {
  validateConfig(config);
  const layout = buildLayout(config);
  if (params && params.length !== layout.total) {
    throw new ModelError(`createModel: params has ${params.length} floats but the ${config.family} config needs ${layout.total} (layout.total); was it built for another config?`);
  }
  const rope = config.family === 'llama'
    ? ropeTables(config.maxSeqLen, headSize(config), config.ropeTheta)
    : { cos: new Float32Array(0), sin: new Float32Array(0) };
  return {
    config, layout,
    params: params ?? new Float32Array(layout.total),
    grads: new Float32Array(layout.total),
    ropeCos: rope.cos, ropeSin: rope.sin,
  };
}

/** Sets every gradient to zero (call before a step; lossAndGrad accumulates). */
export function zeroGradsInPlace(model: Model): void {
  model.grads.fill(0);
}

/** A named parameter of the model (a view into model.params). */
export function param(model: Model, name: string): Float32Array {
  return paramView(model.layout, model.params, name);
}

/** A matmul weight for forward: its bf16 copy when the model has one, else the fp32 view. */
export function matmulWeight(model: Model, name: string): Float32Array | Bf16Weight {
  return model.bf16?.get(name) ?? param(model, name);
}

/** The gradient of a named parameter (a view into model.grads). */
export function grad(model: Model, name: string): Float32Array {
  return paramView(model.layout, model.grads, name);
}

const NORM_WEIGHTS = new Set(['attn_norm', 'ffn_norm', 'norm', 'ln1_w', 'ln2_w', 'lnf_w']);
/** Projections that write into the residual stream: scaled 1/sqrt(2L) (GPT-2 paper, llama2.c). */
const RESIDUAL_PROJ = new Set(['wo', 'w2', 'proj_w']);

/**
 * GPT-2 / llama2.c style init: matrices and embeddings ~ normal(0, 0.02), residual projections
 * (wo, w2 / proj_w) ~ normal(0, 0.02/sqrt(2L)), norm weights 1, biases 0.
 * Deterministic for a given Rng state; walks the layout in order.
 */
export function initParams(config: ModelConfig, rng: Rng): Float32Array {
  validateConfig(config);
  const layout = buildLayout(config);
  const p = new Float32Array(layout.total);
  const residualStd = 0.02 / Math.sqrt(2 * config.nLayers);
  for (const e of layout.entries) {
    const base = e.name.slice(e.name.lastIndexOf('.') + 1);
    const v = p.subarray(e.offset, e.offset + e.size);
    if (NORM_WEIGHTS.has(base)) v.fill(1);
    else if (e.shape.length === 1) v.fill(0); // biases
    else {
      const std = RESIDUAL_PROJ.has(base) ? residualStd : 0.02;
      for (let i = 0; i < v.length; i++) v[i] = std * rng.nextNormal();
    }
  }
  return p;
}
