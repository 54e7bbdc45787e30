// The distill room's public surface: the α mix of hard-label CE and KD over the engine's loss ops,
// α/T schedules and teacher logit processing. Re-exports only; no logic lives here.

export { DistillError } from './errors.js';
export {
  createDistillLossScratch, distillLossForwardBackward, type DistillLossOptions, type DistillLossResult, type DistillLossScratch,
  type TeacherRows,
} from './distill-loss.js';
export {
  SCHEDULES, alwaysOne, resolveSchedule, scheduleValue, type Schedule, type ScheduleField, type ScheduleKind, type ScheduleSpec,
} from './schedules.js';
export { processTeacherLogitsDense, processTeacherLogitsSparse, type TeacherProcessing } from './logit-processing.js';
export { createHiddenLossScratch, hiddenLossForwardBackward, type HiddenLossArgs, type HiddenLossKind, type HiddenLossScratch } from './hidden-loss.js';
