import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { quote, reject, type Result } from '../core/result.js';
import type { BatchWriter } from '../adapters/batch-writer.js';
import type { TierCache } from '../adapters/tier-cache.js';
import type { DeadLetter as TopicDeadLetter, DeadLetterTopic } from '../adapters/dead-letter-topic.js';
import { type IncomingEvent } from '../cloudevents/index.js';
import { parseData } from '../steps/decode.js';
import type { Dedupe } from '../steps/dedupe.js';
import { deadLetterRow, eventRow, transactionRow, warningRows, type EventRow, type WarningRow } from '../steps/to-row.js';
import { createWarningLabels } from '../steps/warnings.js';
import { validateRecord, type ValidRecord } from '../steps/validate.js';
import { isEventType } from '../schemas/validators.js';

/**
 * The ingest lane, top to bottom: parse and validate each CloudEvent's data (rejects become
 * dead-letter rows), drop duplicates this replica has seen, enrich with the tier, turn into rows,
 * and wait until the micro-batch holding them is stored. Each step is a pure function in steps/;
 * the tier cache and the batch writer are the only I/O. Sessions are derived from the stored
 * events by the sessionizer (functions/sessionizer), so no replica needs to see a user's events.
 */
export type Outcome =
  | { id: string; status: 'stored' }
  | { id: string; status: 'duplicate' }
  | { id: string; status: 'dead_lettered'; reason: string; detail: string; field?: string };

/** One outcome shared by every stored request: the dedupe window keeps a million signals alive. */
const STORED: { err?: Error } = Object.freeze({});

/**
 * Settles once the first copy of an id is stored; `wait` rejects if that copy's batch was refused.
 * The promise is made only when a duplicate asks for it: one small object per request otherwise.
 */
export class StoredSignal {
  private outcome: { err?: Error } | undefined;
  private promise: Promise<void> | undefined;
  private resolve: (() => void) | undefined;
  private reject: ((e: Error) => void) | undefined;
  wait(): Promise<void> {
    if (this.promise) return this.promise;
    if (this.outcome) this.promise = this.outcome.err ? Promise.reject(this.outcome.err) : Promise.resolve();
    else this.promise = new Promise<void>((res, rej) => { this.resolve = res; this.reject = rej; });
    return this.promise;
  }
  settle(err?: Error) {
    if (this.outcome) return;
    this.outcome = err ? { err } : STORED;
    if (err) this.reject?.(err); else this.resolve?.();
    this.resolve = this.reject = undefined;
  }
}
export type PipelineDeps = { writer: BatchWriter; tiers: TierCache; dedupe: Dedupe<StoredSignal>; metrics: Metrics; log: Logger; deadLetterTopic?: DeadLetterTopic };

/** Distinct `source` label values kept on the reject counter; later sources count as "other". */
const MAX_SOURCE_LABELS = 100;

export function createPipeline(config: Pick<Config, 'MAX_FUTURE_SKEW_MS'> & Partial<Pick<Config, 'UNKNOWN_FIELDS'>>, deps: PipelineDeps) {
  const { writer, tiers, dedupe, metrics } = deps;
  const unknownFields = config.UNKNOWN_FIELDS ?? 'warn';
  const warningLabels = createWarningLabels();
  // Label values come from the sender: bounded, or random sources/types would grow the registry
  // (and every scrape) without limit.
  const sources = new Set<string>();
  const sourceLabel = (s: string) => {
    const v = s.slice(0, 120);
    if (sources.has(v)) return v;
    if (sources.size >= MAX_SOURCE_LABELS) return 'other';
    sources.add(v);
    return v;
  };

  return async function process(incoming: readonly IncomingEvent[], receivedAtMs = Date.now()): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const valid: { rec: ValidRecord; id: string }[] = [];
    const deadLetters: ReturnType<typeof deadLetterRow>[] = [];
    const warnings: WarningRow[] = [];
    // The same rejects for the topic: the CloudEvent as it came, with why (adapters/dead-letter-topic.ts).
    const topicLetters: TopicDeadLetter[] = [];
    // A duplicate is answered when its original is stored, and fails (so the sender retries it)
    // when the original's batch is refused: a 2xx must never stand for an event not stored.
    const stored = new StoredSignal();
    let originals: Set<StoredSignal> | undefined;

    for (const e of incoming) {
      const parsed = parseData(e);
      const checked: Result<ValidRecord> = !e.kind
        ? reject('unknown_type', `CloudEvent type ${quote(e.attrs.type)} from ${quote(e.attrs.source)} is neither a user event nor a transaction`, 'type')
        : parsed.ok ? validateRecord(e.kind, parsed.value, receivedAtMs, config.MAX_FUTURE_SKEW_MS, { unknownFields, dataschema: e.attrs.dataschema }) : parsed;
      metrics.eventsReceived.inc({ kind: e.kind ?? 'unknown', type: checked.ok && checked.value.kind === 'event' ? checked.value.event.event_type : e.kind ?? 'unknown' });
      if (!checked.ok) {
        const row = wellFormed(deadLetterRow(e, checked, receivedAtMs, parsed.ok ? parsed.value : undefined));
        metrics.eventsRejected.inc({ source: sourceLabel(e.attrs.source), type: isEventType(row.event_type) ? row.event_type : e.kind ?? 'unknown', reason: checked.reason });
        deadLetters.push(row);
        if (deps.deadLetterTopic) topicLetters.push({ event: e, reason: checked.reason, detail: checked.detail, ...(checked.field ? { field: checked.field } : {}) });
        outcomes.push({ id: e.attrs.id, status: 'dead_lettered', reason: checked.reason, detail: checked.detail, ...(checked.field ? { field: checked.field } : {}) });
        continue;
      }
      // ClickHouse stores UUIDs lowercase, so an id in capitals is the same event.
      const id = (checked.value.kind === 'event' ? checked.value.event.event_id : checked.value.transaction.transaction_id).toLowerCase();
      const original = dedupe.admit(id, stored);
      if (original) {
        metrics.duplicatesDropped.inc();
        if (original !== stored) (originals ??= new Set()).add(original);
        outcomes.push({ id: e.attrs.id, status: 'duplicate' });
        continue;
      }
      valid.push({ rec: checked.value, id });
      if (checked.value.warnings) {
        // Counted for the first copy admitted, not for its duplicates (docs/data-quality.md).
        metrics.eventsWithWarnings.inc();
        for (const w of checked.value.warnings) metrics.dataQualityWarnings.inc(warningLabels(w));
        warnings.push(...warningRows(e, checked.value, receivedAtMs));
      }
      outcomes.push({ id: e.attrs.id, status: 'stored' });
    }

    try {
      const tierOf = valid.length ? await tiers.getMany(valid.map((v) => (v.rec.kind === 'event' ? v.rec.event.user_id : v.rec.transaction.user_id))) : new Map();
      const events: EventRow[] = [];
      const transactions: ReturnType<typeof transactionRow>[] = [];
      for (const { rec } of valid) {
        if (rec.kind === 'event') {
          const e = rec.event;
          const tier = tierOf.get(e.user_id) ?? 'unknown';
          if (tier === 'unknown') metrics.unknownTier.inc();
          metrics.processingLag.observe(Math.max(0, receivedAtMs - Date.parse(e.timestamp)) / 1000);
          events.push(eventRow(e, tier, receivedAtMs));
        } else {
          transactions.push(transactionRow(rec.transaction, tierOf.get(rec.transaction.user_id) ?? 'unknown', receivedAtMs));
        }
      }
      const rows = { user_events_realtime: events, transactions_realtime: transactions, dead_letter_events: deadLetters, ...(warnings.length ? { data_quality_warnings: warnings } : {}) };
      if (events.length + transactions.length + deadLetters.length > 0) await writer.add(rows);
      stored.settle();
    } catch (err) {
      // Not stored: forget the ids so the sender's retry is taken as new, not as a duplicate.
      dedupe.forget(valid.map((v) => v.id));
      stored.settle(err as Error);
      throw err;
    }
    if (originals) await Promise.all([...originals].map((o) => o.wait()));
    if (deadLetters.length) {
      if (deps.deadLetterTopic) await deps.deadLetterTopic.send(topicLetters);
      metrics.deadLetterWrites.inc(deadLetters.length);
    }
    return outcomes;
  };
}

type DeadLetter = ReturnType<typeof deadLetterRow>;

/**
 * The row with every lone surrogate replaced by U+FFFD. A structured CloudEvent can carry one in an
 * attribute or in text data (`"\ud800"` is valid JSON); ClickHouse refuses it in the JSON insert,
 * and that refusal failed the whole micro-batch: the ingest answered 503 to everyone (found by the
 * HTTP fuzz). Valid events cannot hold one: the schemas refuse them in text fields.
 */
function wellFormed(row: DeadLetter): DeadLetter {
  const fix = (s: string) => s.replace(/[\ud800-\udfff]/gu, '\ufffd');
  return { ...row, detail: fix(row.detail), field: fix(row.field), event_type: fix(row.event_type), ce_id: fix(row.ce_id), ce_source: fix(row.ce_source), ce_type: fix(row.ce_type), ce_subject: fix(row.ce_subject), payload: fix(row.payload) };
}
