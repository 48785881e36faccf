/**
 * The circuit breaker in front of ClickHouse. A row taken now is acknowledged once the batch that
 * holds it is stored: after the open batch's remaining age, the batches queued ahead of it, and
 * its own insert. When ClickHouse is slow that wait grows with the queue; a row whose sender gave
 * up long before the acknowledgement (KafkaSource's delivery timeout) is redelivered anyway, so
 * taking it only costs memory and a duplicate. The breaker opens when the predicted wait passes
 * `budgetMs`, or while inserts keep failing, and new rows get 503 + Retry-After instead; it closes
 * once the queue has drained to half the budget (so it does not flap at the threshold), or to
 * nothing while one insert fits the budget. An idle writer whose inserts took longer than that takes
 * the next batch anyway, as the probe that measures ClickHouse again: an average learnt while it was
 * slow would otherwise keep the breaker open with nothing left to drain.
 */
export type AckWaitInput = {
  /** Time left before the open batch is sealed by age (0 when it is empty or missing). */
  openRemainingMs: number;
  /** Sealed batches waiting, the one being written included. */
  queued: number;
  /** How long the batch being written has been at it (0 when none is). */
  headElapsedMs: number;
  /** Recent insert time of one batch (moving average; 0 before the first insert). */
  insertMs: number;
};

/** The predicted wait, in ms, before a row taken now is acknowledged. */
export function predictAckMs(i: AckWaitInput): number {
  // An insert already running longer than usual is expected to take about as long again: slowness
  // is what the breaker must see, and an average alone would only learn it after the insert ends.
  const head = i.queued === 0 ? 0 : i.headElapsedMs > i.insertMs ? i.headElapsedMs : i.insertMs - i.headElapsedMs;
  const behindHead = Math.max(0, i.queued - 1) * i.insertMs;
  return i.openRemainingMs + head + behindHead + i.insertMs;
}

export type BreakerState = { open: false } | { open: true; reason: 'failing' | 'slow'; retryAfterS: number };

export function createAckBreaker(opts: { budgetMs: number; maxRetryAfterS?: number }) {
  const maxRetryAfterS = opts.maxRetryAfterS ?? 5;
  // 'probing': tripped, but an idle writer takes rows again to measure ClickHouse.
  let state: 'closed' | 'open' | 'probing' = 'closed';
  return {
    /**
     * Whether rows may be taken now: `failing` means ClickHouse refuses writes after all retries,
     * `idle` that the writer holds no row.
     */
    evaluate(failing: boolean, predictedMs: number, idle = false): BreakerState {
      if (failing) { state = 'open'; return { open: true, reason: 'failing', retryAfterS: 2 }; }
      if (state === 'closed') state = predictedMs > opts.budgetMs ? 'open' : 'closed';
      // Drained to half the budget, or idle with its own insert within it: healthy again.
      else if (predictedMs <= opts.budgetMs / 2 || (idle && predictedMs <= opts.budgetMs)) state = 'closed';
      else state = idle ? 'probing' : 'open';
      if (state !== 'open') return { open: false };
      // Retry once about half the queue has drained, bounded so a sender never sleeps long.
      return { open: true, reason: 'slow', retryAfterS: Math.max(1, Math.min(maxRetryAfterS, Math.ceil(predictedMs / 2 / 1000))) };
    },
    /** Open or probing: what the gauge shows, so a probe does not count as recovered. */
    get tripped() { return state !== 'closed'; },
  };
}

/** A moving average of insert times: recent inserts weigh most, one odd insert does not swing it. */
export function nextAverage(previous: number, sample: number, weight = 0.3) {
  return previous === 0 ? sample : previous + weight * (sample - previous);
}
