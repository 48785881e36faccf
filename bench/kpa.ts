/**
 * The replica count Knative's Pod Autoscaler (KPA) would choose, replayed over a series of observed
 * concurrency (in-flight requests, averaged per second). The algorithm is Knative Serving's
 * (pkg/autoscaler/scaling/autoscaler.go, docs "Configuring the autoscaler"):
 * - every tick (2 s) it averages the observed concurrency over the stable window (60 s) and over the
 *   panic window (6 s);
 * - desired pods = ceil(average / (target × target-utilization)), for each window, limited per tick
 *   by max-scale-up-rate (1000) × ready pods and ready pods / max-scale-down-rate (2);
 * - it panics when the panic window's desired pods reach panic-threshold (200 %) × ready pods; while
 *   panicking (and for a stable window after the last time the threshold was crossed) it uses the
 *   panic figure and never scales down;
 * - the result is clamped to [min-scale, max-scale].
 * Pods are taken as ready the tick after they are asked for (`readyDelayS` models a slower start).
 */
export type KpaSpec = {
  /** autoscaling.knative.dev/target: in-flight requests per pod. */
  target: number;
  /** target-utilization-percentage / 100. */
  utilization: number;
  minScale: number;
  maxScale: number;
  stableWindowS?: number;
  /** panic-window-percentage of the stable window: 10 % = 6 s. */
  panicWindowS?: number;
  panicThreshold?: number;
  maxScaleUpRate?: number;
  maxScaleDownRate?: number;
  tickS?: number;
  readyDelayS?: number;
};

export type KpaPoint = { t: number; observed: number; stableAvg: number; panicAvg: number; desired: number; ready: number; panicking: boolean };

/** `concurrency[i]` is the average in-flight requests during second i. */
export function simulateKpa(concurrency: readonly number[], spec: KpaSpec): KpaPoint[] {
  const stableW = spec.stableWindowS ?? 60;
  const panicW = spec.panicWindowS ?? 6;
  const threshold = spec.panicThreshold ?? 2;
  const upRate = spec.maxScaleUpRate ?? 1000;
  const downRate = spec.maxScaleDownRate ?? 2;
  const tick = spec.tickS ?? 2;
  const delay = spec.readyDelayS ?? 0;
  const perPod = spec.target * spec.utilization;
  const clamp = (n: number) => Math.min(spec.maxScale, Math.max(spec.minScale, n));

  const out: KpaPoint[] = [];
  let ready = clamp(spec.minScale);
  let panicUntil = -Infinity;
  let maxPanicPods = 0;
  const pending: { at: number; pods: number }[] = [];
  const avg = (end: number, w: number) => {
    const from = Math.max(0, end - w + 1);
    let s = 0;
    for (let i = from; i <= end; i++) s += concurrency[i] ?? 0;
    return s / (end - from + 1);
  };
  let desired = ready;
  for (let t = 0; t < concurrency.length; t++) {
    while (pending.length && pending[0]!.at <= t) ready = pending.shift()!.pods;
    let panicking = t < panicUntil;
    const stableAvg = avg(t, stableW);
    const panicAvg = avg(t, panicW);
    if (t % tick === 0) {
      const readyPods = Math.max(1, ready);
      const maxUp = Math.ceil(upRate * readyPods);
      const maxDown = Math.floor(readyPods / downRate);
      const dspc = Math.ceil(stableAvg / perPod);
      const dppc = Math.ceil(panicAvg / perPod);
      const stablePods = Math.min(Math.max(dspc, maxDown), maxUp);
      const panicPods = Math.min(Math.max(dppc, maxDown), maxUp);
      const over = dppc / readyPods >= threshold;
      if (over) panicUntil = t + stableW;
      panicking = t < panicUntil;
      if (panicking) {
        maxPanicPods = Math.max(maxPanicPods, panicPods, stablePods);
        desired = clamp(maxPanicPods);
      } else {
        maxPanicPods = readyPods;
        desired = clamp(stablePods);
      }
      if (desired !== ready) pending.push({ at: t + Math.max(1, delay), pods: desired });
    }
    out.push({ t, observed: concurrency[t] ?? 0, stableAvg, panicAvg, desired, ready, panicking });
  }
  return out;
}
