/**
 * The pool arithmetic, checked twice: on the derived values, and again from the synthesized
 * manifests alone (annotations, resources, quotas, ConfigMaps, PostgreSQL's args), so a chart
 * that drifted from values.ts fails here. Then: bad inputs throw, naming the value.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_INPUTS, GiB, SESSIONIZER_STATE, ValuesError, deriveValues, openSessionsAt, sessionStateBytesAt, values, type FunctionInputs, type Inputs } from '../../charts/values.js';
import { find, mib, real, type Manifest } from './synth.js';

const out = real();
const ksvcs = out.all.filter((o) => o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service');

/** What one Knative Service's pods take from the pool, read from the manifest only. */
function podShare(s: Manifest) {
  const a = s.spec.template.metadata.annotations as Record<string, string>;
  const c = s.spec.template.spec.containers[0];
  return {
    name: s.metadata.name,
    minScale: Number(a['autoscaling.knative.dev/min-scale']),
    maxScale: Number(a['autoscaling.knative.dev/max-scale']),
    initialScale: Number(a['autoscaling.knative.dev/initial-scale']),
    requestMiB: mib(c.resources.requests.memory) + mib(a['queue.sidecar.serving.knative.dev/memory-resource-request']!),
    limitMiB: mib(c.resources.limits.memory) + mib(a['queue.sidecar.serving.knative.dev/memory-resource-limit']!),
    usesPostgres: (c.env ?? []).some((e: any) => e.name === 'DATABASE_URL'),
  };
}
const shares = ksvcs.map(podShare);

describe('the 7 GiB pool', () => {
  it('is 7 GiB, 2.5 GiB of it guaranteed to the speed layer, 4.5 GiB to the batch layer', () => {
    expect(values.pool.totalMiB).toBe(7 * GiB);
    expect(values.pool.speedGuaranteedMiB).toBe(2.5 * GiB);
    expect(values.pool.batchMiB).toBe(4.5 * GiB);
  });

  it('sum over functions of max-scale x memory limit (queue-proxy included), plus a rollout, fits 7 GiB', () => {
    const maxLimits = shares.reduce((a, s) => a + s.maxScale * s.limitMiB, 0);
    const surge = shares.reduce((a, s) => a + s.initialScale * s.limitMiB, 0);
    expect(maxLimits).toBe(values.pool.speedMaxLimitsMiB);
    expect(maxLimits + surge).toBe(values.pool.speedCeilingMiB);
    expect(maxLimits + surge).toBeLessThanOrEqual(7 * GiB);
  });

  it('guaranteed requests fit 2.5 GiB: every function at min-scale, and the whole design load', () => {
    const floor = shares.reduce((a, s) => a + s.minScale * s.requestMiB, 0);
    expect(floor).toBe(values.pool.speedFloorMiB);
    expect(floor).toBeLessThanOrEqual(2.5 * GiB);
    // At 10,000 events/s and 50 dashboard users the speed layer needs no preemption.
    expect(values.pool.speedRequestsAtDesignMiB).toBeLessThanOrEqual(2.5 * GiB);
    const atDesign = Object.values(values.functions).reduce((a, f) => a + f.podsAtDesignLoad * shares.find((s) => s.name === f.name)!.requestMiB, 0);
    expect(atDesign).toBe(values.pool.speedRequestsAtDesignMiB);
  });

  it('the quotas implement it: batch gets the pool minus the guarantee, speed may use the pool', () => {
    const speed = find(out.all, 'ResourceQuota', 'speed-layer-pool', 'speed-layer');
    const batch = find(out.all, 'ResourceQuota', 'batch-layer-pool', 'batch-layer');
    expect(mib(batch.spec.hard['requests.memory'])).toBe(4.5 * GiB);
    expect(mib(batch.spec.hard['limits.memory'])).toBe(4.5 * GiB);
    expect(mib(speed.spec.hard['limits.memory'])).toBe(7 * GiB);
    expect(mib(speed.spec.hard['limits.memory'])).toBeGreaterThanOrEqual(values.pool.speedCeilingMiB);
    // 7 GiB pool - 4.5 GiB batch quota = the speed layer's guaranteed 2.5 GiB.
    expect(7 * GiB - mib(batch.spec.hard['requests.memory'])).toBe(2.5 * GiB);
    expect(Number(speed.spec.hard.pods)).toBe(shares.reduce((a, s) => a + s.maxScale + s.initialScale, 0));
    expect(speed.spec.scopeSelector.matchExpressions[0]).toEqual({ scopeName: 'PriorityClass', operator: 'In', values: ['speed-layer-high'] });
  });

  it('gives the speed layer HIGH priority, the batch layer NORMAL and preemptible, the data tier the highest', () => {
    const p = (n: string) => find(out.all, 'PriorityClass', n);
    expect(p('speed-layer-high').value).toBeGreaterThan(p('batch-layer-normal').value);
    expect(p('batch-layer-normal').preemptionPolicy).toBe('Never');
    expect(p('speed-layer-data').value).toBeGreaterThan(p('speed-layer-high').value);
    for (const s of ksvcs) expect(s.spec.template.spec.priorityClassName).toBe('speed-layer-high');
  });

  it('max-scale covers the design load, min-scale <= max-scale, concurrency targets are set', () => {
    for (const s of ksvcs) {
      const a = s.spec.template.metadata.annotations;
      expect(a['autoscaling.knative.dev/class']).toBe('kpa.autoscaling.knative.dev');
      expect(a['autoscaling.knative.dev/metric']).toBe('concurrency');
      expect(Number(a['autoscaling.knative.dev/target'])).toBeGreaterThan(0);
      expect(Number(a['autoscaling.knative.dev/target'])).toBeLessThanOrEqual(s.spec.template.spec.containerConcurrency);
      expect(Number(a['autoscaling.knative.dev/min-scale'])).toBeLessThanOrEqual(Number(a['autoscaling.knative.dev/max-scale']));
    }
    const ingest = values.functions.ingest;
    // Enough pods and in-flight room for 10,000 events/s held ~1.5 s each.
    expect(ingest.maxScale * ingest.containerConcurrency).toBeGreaterThanOrEqual(values.ingest.inFlightAtDesign);
    expect(ingest.maxScale).toBeGreaterThan(ingest.podsAtDesignLoad);
  });
});

describe('PostgreSQL connections', () => {
  it('PG_POOL_SIZE x the most ingest pods that can run at once stays within 80 % of max_connections', () => {
    const cm = find(out.all, 'ConfigMap', 'ingest-config', 'speed-layer');
    const pool = Number(cm.data.PG_POOL_SIZE);
    const pg = find(out.all, 'StatefulSet', 'postgres', 'speed-layer');
    const args: string[] = pg.spec.template.spec.containers[0].args;
    const maxConnections = Number(args.find((a) => a.startsWith('max_connections='))!.split('=')[1]);
    const pods = shares.filter((s) => s.usesPostgres).reduce((a, s) => a + s.maxScale + s.initialScale, 0);
    expect(pool).toBe(values.postgres.poolSize);
    expect(pods).toBe(values.postgres.maxPodsWithPool);
    expect(pool * pods).toBeLessThanOrEqual(0.8 * maxConnections);
    // Only ingest gets a DATABASE_URL.
    expect(shares.filter((s) => s.usesPostgres).map((s) => s.name)).toEqual(['ingest']);
  });
});

describe('the numbers that hang together elsewhere', () => {
  it('ClickHouse slots: ingest users + analytics connections fit max_concurrent_queries', () => {
    const c = values.clickhouse;
    expect(c.ingestSlots + c.sessionizerSlots + c.analyticsSlots).toBe(50);
    expect(values.functions.analytics.maxScale * values.functions.analytics.clickhouseQueriesPerPod).toBeLessThanOrEqual(c.analyticsSlots);
  });

  it('the KafkaSources can keep the design in-flight load outstanding, with consumers = partitions', () => {
    expect(values.kafka.consumersPerSource * values.kafka.maxPollRecords).toBeGreaterThanOrEqual(values.ingest.inFlightAtDesign);
    for (const s of out.all.filter((o) => o.kind === 'KafkaSource')) {
      const topic = out.all.find((t) => t.kind === 'KafkaTopic' && t.spec.topicName === s.spec.topics[0])!;
      expect(s.spec.consumers).toBe(topic.spec.partitions);
      expect(s.spec.ordering).toBe('unordered');
    }
  });

  it('the delivery retries ride out the outage they are sized for, and time out before Knative does', () => {
    expect(values.delivery.totalBackoffSeconds).toBeGreaterThanOrEqual(DEFAULT_INPUTS.delivery.outageToRideSeconds);
    const timeout = Number(/^PT([\d.]+)S$/.exec(values.delivery.timeout)![1]);
    expect(timeout).toBeLessThan(find(out.all, 'Service', 'ingest', 'speed-layer').spec.template.spec.timeoutSeconds);
  });

  it('each function\'s V8 heap is below its container limit', () => {
    for (const f of Object.values(values.functions)) {
      const cm = find(out.all, 'ConfigMap', `${f.name}-config`, 'speed-layer');
      const heap = Number(/--max-old-space-size=(\d+)/.exec(cm.data.NODE_OPTIONS)![1]);
      expect(heap).toBeLessThan(f.limitMiB);
    }
  });
});

describe('the sessionizer: its memory is its open sessions', () => {
  const budget = SESSIONIZER_STATE.openSessionsMiB * 2 ** 20;

  it('its request holds the runtime and the open-session budget; the pod runs on its own timer, one warm replica', () => {
    const f = values.functions.sessionizer;
    expect(f.memory.residentMiB).toEqual({ openSessions: SESSIONIZER_STATE.openSessionsMiB });
    expect(f.requestMiB).toBeGreaterThanOrEqual(f.memory.runtimeMiB + SESSIONIZER_STATE.openSessionsMiB);
    expect(f.maxOldSpaceMiB).toBeGreaterThan(f.memory.runtimeMiB + SESSIONIZER_STATE.openSessionsMiB);
    expect({ minScale: f.minScale, maxScale: f.maxScale, initialScale: f.initialScale }).toEqual({ minScale: 1, maxScale: 1, initialScale: 1 });
    const cm = find(out.all, 'ConfigMap', 'sessionizer-config', 'speed-layer');
    expect(cm.data.SESSIONIZER_INTERVAL_MS).toBe(String(values.inputs.sessionizer.intervalMs));
  });

  it('the figures docs/deploy.md and values.ts state: ~2 M users with an open session at the design rate, ~1.05 GiB encoded; the budget admits ~2,230 events/s', () => {
    const design = values.inputs.design.eventsPerSecond;
    expect(openSessionsAt(design)).toBe(2_000_000);
    expect(Math.round(sessionStateBytesAt(design) / 2 ** 20)).toBe(1074);
    expect(sessionStateBytesAt(2_230)).toBeLessThanOrEqual(budget);
    expect(sessionStateBytesAt(2_240)).toBeGreaterThan(budget);
  });

  it('the design load\'s open sessions would not fit the pool: the budget is what it admits', () => {
    const need = Math.ceil(sessionStateBytesAt(values.inputs.design.eventsPerSecond) / 2 ** 20);
    const inputs: Inputs = {
      ...DEFAULT_INPUTS,
      functions: DEFAULT_INPUTS.functions.map((f) => (f.name === 'sessionizer' ? { ...f, memory: { ...f.memory, residentMiB: { openSessions: need } } } : f)),
    };
    expect(() => deriveValues(inputs)).toThrow(/requests at the design load \(MiB\) = \d+: must fit the guaranteed 2560 MiB/);
  });
});

describe('values that do not fit throw, naming the value and what to change', () => {
  const withFn = (name: FunctionInputs['name'], patch: Partial<FunctionInputs>): Inputs => ({
    ...DEFAULT_INPUTS,
    functions: DEFAULT_INPUTS.functions.map((f) => (f.name === name ? { ...f, ...patch } : f)),
  });

  const cases: { what: string; inputs: Inputs; message: RegExp }[] = [
    { what: 'too many spare ingest pods', inputs: withFn('ingest', { spareReplicas: 4 }), message: /max-scale x pod limit \+ rollout surge \(MiB\) = \d+: must fit the 7168 MiB pool/ },
    { what: 'a slower ingest pod than assumed', inputs: { ...DEFAULT_INPUTS, ingestThroughput: { eventsPerSecondPerPod: 1_500 } }, message: /requests at the design load \(MiB\) = \d+: must fit the guaranteed 2560 MiB/ },
    { what: 'a PostgreSQL pool too large', inputs: { ...DEFAULT_INPUTS, postgres: { ...DEFAULT_INPUTS.postgres, poolSizeWanted: 12 } }, message: /PG_POOL_SIZE x maximum pods = "12 x 8 = 96": must stay within 80 % of max_connections \(80 of 100\); lower poolSizeWanted to 10/ },
    { what: 'ClickHouse caches that leave no room', inputs: { ...DEFAULT_INPUTS, clickhouse: { ...DEFAULT_INPUTS.clickhouse, untrackedHeadroomMiB: 1024 } }, message: /max_memory_usage_for_user \+ caches \(MiB\) = 6656: must fit max_server_memory_usage \(6144 MiB/ },
    { what: 'too many analytics pods for ClickHouse', inputs: withFn('analytics', { clickhouseQueriesPerPod: 12 }), message: /ClickHouse slots left for analytics = "50 - 16 - 4 = 30": analytics may open 36 connections/ },
    { what: 'a guarantee bigger than the pool', inputs: { ...DEFAULT_INPUTS, pool: { totalMiB: 2048, speedGuaranteedMiB: 2560 } }, message: /pool.speedGuaranteedMiB = 2560: must be inside the pool/ },
    { what: 'a concurrency limit beyond the back-pressure buffer', inputs: { ...DEFAULT_INPUTS, batching: { ...DEFAULT_INPUTS.batching, bufferMaxRows: 1_000 } }, message: /ingest.containerConcurrency = 4688: must not exceed BUFFER_MAX_ROWS \(1000\)/ },
  ];
  for (const c of cases) {
    it(c.what, () => {
      expect(() => deriveValues(c.inputs)).toThrow(ValuesError);
      expect(() => deriveValues(c.inputs)).toThrow(c.message);
    });
  }

  it('the defaults derive without throwing', () => {
    expect(() => deriveValues(DEFAULT_INPUTS)).not.toThrow();
  });
});
