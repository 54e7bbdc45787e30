// What each logged scalar is: its kind (loss, agreement, diversity, rate, time, memory, learning
// rate, ...) and unit, from its name. One table for the whole project, read by the report (to group
// charts, label and scale axes) and the docs. It logs nothing and does not decide what is logged.

export type MetricKind =
  | 'loss' // cross-entropy / KD losses, nats per token
  | 'divergence' // a distance between teacher and student distributions (KL), nats per token
  | 'agreement' // teacher–student top-1 agreement, accuracy: a fraction in [0, 1]
  | 'diversity' // the student's samples: distinct n-grams, repetition rate: fractions in [0, 1]
  | 'rate' // throughput
  | 'time' // durations
  | 'memory' // bytes of memory (in MiB)
  | 'lr' // learning rate
  | 'schedule' // α, temperature: the loss's schedules
  | 'count' // cumulative counts (tokens, skipped steps, ...)
  | 'other';

export interface MetricInfo {
  kind: MetricKind;
  /** Axis / table unit, e.g. 'nats', 'tokens/s', 'ms per step', 'MiB', 'fraction'. '' = unitless. */
  unit: string;
  /** Draw on a log axis when the values span a decade or more (losses); else always linear. */
  logScale: boolean;
}

/** Name patterns, first match wins. Names are `group/metric`; see docs/monitoring.md. */
const TABLE: ReadonlyArray<[RegExp, MetricInfo]> = [
  [/^step_time\/.*_ms$/, { kind: 'time', unit: 'ms per step', logScale: false }],
  [/^profile\/.*_pct$/, { kind: 'time', unit: '% of wall', logScale: false }],
  [/(^|\/)(time|profile)\/.*_s$|_seconds$|^eval\/seconds$/, { kind: 'time', unit: 's', logScale: false }],
  [/_ms$/, { kind: 'time', unit: 'ms', logScale: false }],
  [/^mem\/.*_mib$/, { kind: 'memory', unit: 'MiB', logScale: false }],
  [/_mb$/, { kind: 'memory', unit: 'MiB', logScale: false }],
  [/tokens_per_sec$/, { kind: 'rate', unit: 'tokens/s', logScale: false }],
  [/steps_per_sec$/, { kind: 'rate', unit: 'steps/s', logScale: false }],
  [/kl_to_teacher$|(^|\/)kl$/, { kind: 'divergence', unit: 'nats', logScale: false }],
  [/agreement$|accuracy$/, { kind: 'agreement', unit: 'fraction', logScale: false }],
  [/^diversity\/.*(distinct|repetition)/, { kind: 'diversity', unit: 'fraction', logScale: false }],
  [/^diversity\/.*tokens$/, { kind: 'count', unit: 'tokens', logScale: false }],
  [/loss/, { kind: 'loss', unit: 'nats', logScale: true }],
  [/(^|\/)lr$/, { kind: 'lr', unit: '', logScale: false }],
  [/(^|\/)(alpha|temperature)$/, { kind: 'schedule', unit: '', logScale: false }],
  [/(^|\/)tokens$/, { kind: 'count', unit: 'tokens', logScale: false }],
  [/(steps|batches)$/, { kind: 'count', unit: '', logScale: false }],
];

const OTHER: MetricInfo = { kind: 'other', unit: '', logScale: false };

/** The kind and unit of a metric name (unknown names: 'other', unitless). */
export function metricInfo(name: string): MetricInfo {
  for (const [re, info] of TABLE) if (re.test(name)) return info;
  return OTHER;
}

/** Kinds in the order the report shows their sections, with the section's heading. */
export const KIND_SECTIONS: ReadonlyArray<{ kind: MetricKind; title: string }> = [
  { kind: 'loss', title: 'Losses' },
  { kind: 'divergence', title: 'Over-distillation: KL to the teacher on validation' },
  { kind: 'agreement', title: 'Over-distillation: teacher–student top-1 agreement on validation' },
  { kind: 'diversity', title: 'Over-distillation: diversity of the student\'s samples on fixed prompts' },
  { kind: 'rate', title: 'Throughput' },
  { kind: 'time', title: 'Step time' },
  { kind: 'memory', title: 'Memory' },
  { kind: 'lr', title: 'Learning rate' },
  { kind: 'schedule', title: 'Loss schedules' },
  { kind: 'count', title: 'Counts' },
  { kind: 'other', title: 'Other scalars' },
];

/** The axis label of a metric: its unit, or its kind when it has none. */
export function axisLabel(info: MetricInfo): string {
  if (info.unit) return info.unit;
  return info.kind === 'lr' ? 'learning rate' : info.kind === 'other' ? 'value' : info.kind;
}

/** Whether a metric measures the machine (time, memory, throughput) rather than the run's
 *  arithmetic: such values differ between two runs of the same recipe, everything else repeats. */
export function isMachineDependent(name: string): boolean {
  const k = metricInfo(name).kind;
  return k === 'time' || k === 'memory' || k === 'rate';
}
