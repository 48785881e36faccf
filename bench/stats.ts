/** Latency recording and percentiles: exact (every value kept in a growable Float64Array). */
export type Percentiles = { p50: number; p95: number; p99: number; max: number; count: number };

export function createRecorder(initial = 1 << 14) {
  let values = new Float64Array(initial);
  let n = 0;
  return {
    add(v: number) {
      if (n === values.length) {
        const next = new Float64Array(values.length * 2);
        next.set(values);
        values = next;
      }
      values[n++] = v;
    },
    get count() { return n; },
    percentiles(): Percentiles { return percentiles(values.subarray(0, n)); },
  };
}
export type Recorder = ReturnType<typeof createRecorder>;

/** Nearest-rank percentiles of a list (sorted in place when it is a typed array copy). */
export function percentiles(list: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(list).sort();
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!);
  return { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(at(1)), count: sorted.length };
}

export const round = (v: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Values per whole second since `t0Ms`, for time series (sum or last value). */
export function createSeries() {
  const sums = new Map<number, number>();
  return {
    add(atMs: number, t0Ms: number, v = 1) {
      const s = Math.floor((atMs - t0Ms) / 1000);
      sums.set(s, (sums.get(s) ?? 0) + v);
    },
    set(atMs: number, t0Ms: number, v: number) { sums.set(Math.floor((atMs - t0Ms) / 1000), v); },
    get(s: number) { return sums.get(s) ?? 0; },
    entries(): [number, number][] { return [...sums.entries()].sort((a, b) => a[0] - b[0]); },
  };
}
