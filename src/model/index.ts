// The model room's public surface: configs, the layout table, models, activations, forward,
// backward, loss and generation. Other rooms import from here; it holds no logic of its own.

export { type Family, type ModelConfig, ConfigError, headSize, kvDim, validateConfig } from './config.js';
export { type ParamEntry, type ParamLayout, buildLayout, countParams, paramView } from './layout.js';
export { ModelError } from './errors.js';
export { type Model, createModel, initParams, zeroGradsInPlace, param, grad, matmulWeight } from './model.js';
export { withBf16Weights } from './bf16-weights.js';
export { type Activations, type ActivationOptions, type LayerActs, createActivations } from './activations.js';
export { type KvCache, createKvCache, resetKvCacheInPlace } from './kv-cache.js';
export { type ForwardOptions, forward, forwardToHidden, headParamName } from './forward.js';
export { backward, backwardFromHidden } from './backward.js';
export { type LossResult, lossAndGrad } from './loss.js';
export { type SamplingOptions, type SamplerScratch, argmax, createSamplerScratch, sampleToken, validateSampling } from './sampling.js';
export { type GenerateOptions, type GenerateResult, type GenerationState, type GenerationStep, createGenerationState, generate, generateSteps } from './generate.js';
export { type ShrinkSpec, type ShrinkResult, type Calibration, shrinkModel, shrinkLayers } from './shrink.js';
export { type WidthTarget } from './shrink-width.js';
export { type LowRankTarget, denseModel, denseConfig, svd } from './shrink-lowrank.js';
export { type ImportanceTable } from './shrink-importance.js';
export { everyOtherLayer } from './shrink-depth.js';
