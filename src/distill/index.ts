// The distill room's public surface: KD/CE losses (dense and sparse teachers), the α mix,
// α/T schedules and teacher logit processing. Re-exports only; no logic lives here.

export { DistillError } from './errors.js';
export type { KdDivergence } from './divergences.js';
export type { KdOptions, LossResult } from './kd-options.js';
export { kdDenseForwardBackward, type DenseTeacherKind } from './kd-dense.js';
export { kdSparseForwardBackward, type SparseTeacher, type TailMode } from './kd-sparse.js';
export { hardCeForwardBackward, type HardCeOptions } from './hard-ce.js';
export { distillLossForwardBackward, type TeacherRows, type DistillLossOptions, type DistillLossResult } from './distill-loss.js';
export {
  SCHEDULES, alwaysOne, resolveSchedule, scheduleValue, type Schedule, type ScheduleField, type ScheduleKind, type ScheduleSpec,
} from './schedules.js';
export { processTeacherLogitsDense, processTeacherLogitsSparse, type TeacherProcessing } from './logit-processing.js';
