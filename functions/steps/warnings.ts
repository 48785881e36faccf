import type { Warning } from './validate.js';

/**
 * Label values for the warnings metric. A warning's field may be a name the sender made up (an
 * unknown field), so only the first `max` distinct plain names get a label of their own and the rest
 * count as "other": a producer sending random keys cannot grow the registry. The names themselves
 * are in the data_quality_warnings table, with a sample of each value.
 */
export const WARNING_FIELD_LABELS = 50;

export function createWarningLabels(max = WARNING_FIELD_LABELS) {
  const seen = new Set<string>();
  return function labels(w: Warning): { kind: Warning['kind']; field: string } {
    if (seen.has(w.field)) return { kind: w.kind, field: w.field };
    if (seen.size >= max || !/^[\w.]{1,64}$/.test(w.field)) return { kind: w.kind, field: 'other' };
    seen.add(w.field);
    return { kind: w.kind, field: w.field };
  };
}
