import client from 'prom-client';

/**
 * Every Prometheus metric the functions export, in one place, so dashboards, alert rules and
 * their tests can be checked against this list (test/monitoring/metric-names.test.ts).
 * Units are in the names; all share the `speed_layer_` prefix.
 */
export function createMetrics(registry = new client.Registry()) {
  client.collectDefaultMetrics({ register: registry, prefix: 'speed_layer_' });
  const r = [registry];
  const latency = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  return {
    registry,
    eventsReceived: new client.Counter({ name: 'speed_layer_events_received_total', help: 'Events received, by source kind and event type', labelNames: ['kind', 'type'], registers: r }),
    eventsStored: new client.Counter({ name: 'speed_layer_events_stored_total', help: 'Rows stored in ClickHouse, by table', labelNames: ['table'], registers: r }),
    eventsRejected: new client.Counter({ name: 'speed_layer_events_rejected_total', help: 'Events dead-lettered, by source, event type and reason code', labelNames: ['source', 'type', 'reason'], registers: r }),
    // Labels are bounded: kind is a closed set, field is a schema's own name or one of the first
    // WARNING_FIELD_LABELS unknown names (then "other"), see steps/warnings.ts.
    dataQualityWarnings: new client.Counter({ name: 'speed_layer_data_quality_warnings_total', help: 'Stored events with something the schema does not know, by kind (unknown_field, unlisted_value, unknown_schema) and field', labelNames: ['kind', 'field'], registers: r }),
    eventsWithWarnings: new client.Counter({ name: 'speed_layer_events_with_warnings_total', help: 'Stored events (and transactions) that carried at least one data-quality warning', registers: r }),
    duplicatesDropped: new client.Counter({ name: 'speed_layer_duplicates_dropped_total', help: 'Events dropped because their id was already seen', registers: r }),
    batchRows: new client.Histogram({ name: 'speed_layer_batch_rows', help: 'Rows per flushed micro-batch', buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 20000], registers: r }),
    flushDuration: new client.Histogram({ name: 'speed_layer_flush_duration_seconds', help: 'Time to write one micro-batch to ClickHouse', buckets: latency, registers: r }),
    flushReason: new client.Counter({ name: 'speed_layer_flushes_total', help: 'Micro-batch flushes by trigger (size, age, idle, shutdown)', labelNames: ['trigger'], registers: r }),
    insertRetries: new client.Counter({ name: 'speed_layer_insert_retries_total', help: 'ClickHouse insert attempts retried', labelNames: ['table'], registers: r }),
    insertFailures: new client.Counter({ name: 'speed_layer_insert_failures_total', help: 'ClickHouse inserts that failed after all retries', labelNames: ['table'], registers: r }),
    processingLag: new client.Histogram({ name: 'speed_layer_processing_lag_seconds', help: 'Wall clock at receipt minus event time', buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300], registers: r }),
    freshness: new client.Histogram({ name: 'speed_layer_freshness_seconds', help: 'Event time to stored in ClickHouse', buckets: [0.1, 0.5, 1, 2, 3, 5, 10, 30, 60, 300], registers: r }),
    inFlight: new client.Gauge({ name: 'speed_layer_in_flight_requests', help: 'HTTP requests being processed', registers: r }),
    bufferedRows: new client.Gauge({ name: 'speed_layer_buffered_rows', help: 'Rows waiting in the micro-batch buffer', registers: r }),
    cacheHits: new client.Counter({ name: 'speed_layer_tier_cache_hits_total', help: 'Tier lookups answered from the cache', registers: r }),
    cacheMisses: new client.Counter({ name: 'speed_layer_tier_cache_misses_total', help: 'Tier lookups that went to PostgreSQL', registers: r }),
    cacheSize: new client.Gauge({ name: 'speed_layer_tier_cache_entries', help: 'Users held in the tier cache', registers: r }),
    tierLookupDuration: new client.Histogram({ name: 'speed_layer_tier_lookup_duration_seconds', help: 'One batched PostgreSQL tier query', buckets: latency, registers: r }),
    tierLookupFailures: new client.Counter({ name: 'speed_layer_tier_lookup_failures_total', help: 'PostgreSQL tier queries that failed (events continue with tier unknown)', registers: r }),
    tierBreakerOpen: new client.Gauge({ name: 'speed_layer_tier_breaker_open', help: '1 while tier lookups are suspended after a PostgreSQL failure (events get tier unknown)', registers: r }),
    unknownTier: new client.Counter({ name: 'speed_layer_unknown_tier_events_total', help: 'Events enriched with tier unknown', registers: r }),
    openSessions: new client.Gauge({ name: 'speed_layer_open_sessions', help: 'Sessions open in this replica', registers: r }),
    sessionsClosed: new client.Counter({ name: 'speed_layer_sessions_closed_total', help: 'Sessions closed, by trigger (timeout, logout, max_duration)', labelNames: ['trigger'], registers: r }),
    lateEvents: new client.Counter({ name: 'speed_layer_late_events_total', help: 'Events older than the watermark when they arrived', registers: r }),
    watermark: new client.Gauge({ name: 'speed_layer_watermark_seconds', help: 'Event-time watermark (unix seconds)', registers: r }),
    sessionFreshness: new client.Histogram({ name: 'speed_layer_session_freshness_seconds', help: 'Event stored to its session row current in ClickHouse', buckets: [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 60, 120, 300], registers: r }),
    sessionizerRunDuration: new client.Histogram({ name: 'speed_layer_sessionizer_run_duration_seconds', help: 'One sessionizer run, reads and writes included', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30], registers: r }),
    sessionsCompleteUntil: new client.Gauge({ name: 'speed_layer_sessions_complete_until_seconds', help: 'Every event stored before this wall time (unix seconds) is in its session', registers: r }),
    deadLetterWrites: new client.Counter({ name: 'speed_layer_dead_letter_writes_total', help: 'Rows written to dead_letter_events', registers: r }),
    clickhouseBreakerOpen: new client.Gauge({ name: 'speed_layer_clickhouse_breaker_open', help: '1 while new rows are refused (503) because ClickHouse keeps failing or is too slow to acknowledge them within ACK_BUDGET_MS', registers: r }),
    clickhouseBreakerOpens: new client.Counter({ name: 'speed_layer_clickhouse_breaker_opens_total', help: 'Times the ClickHouse breaker opened, by reason (failing, slow)', labelNames: ['reason'], registers: r }),
    backpressure: new client.Counter({ name: 'speed_layer_backpressure_rejections_total', help: 'Requests answered 503 because the buffer or ClickHouse was saturated', registers: r }),
    queryDuration: new client.Histogram({ name: 'speed_layer_query_duration_seconds', help: 'Analytics API query latency by endpoint', labelNames: ['endpoint'], buckets: latency, registers: r }),
    queryFailures: new client.Counter({ name: 'speed_layer_query_failures_total', help: 'Analytics API queries that failed', labelNames: ['endpoint'], registers: r }),
    clickhouseActiveParts: new client.Gauge({ name: 'speed_layer_clickhouse_active_parts', help: 'Active parts of each table in ClickHouse, all partitions (counted every 10 s by the sessionizer)', labelNames: ['table'], registers: r }),
    clickhousePartitionPartsMax: new client.Gauge({ name: 'speed_layer_clickhouse_partition_parts_max', help: 'Active parts of the fullest partition of each table (ClickHouse delays inserts past parts_to_delay_insert, 1000, and refuses them past parts_to_throw_insert, 3000)', labelNames: ['table'], registers: r }),
    analyticsCache: new client.Counter({ name: 'speed_layer_analytics_cache_total', help: 'Analytics API query lookups: hit (a reused answer), stale (an answer past its ttl served while it is refreshed), shared (joined an identical query in flight), miss (ran a ClickHouse query)', labelNames: ['result'], registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
