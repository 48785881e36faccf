// Replay after a policy change, end to end (docs/data-quality.md, "Replay after a fix"): an ingest
// deployed with UNKNOWN_FIELDS=reject dead-letters events that carry a new field; the policy
// changes (the stack's ingest runs with the default, warn); one command exports the dead letters
// and resubmits them; each event is then counted once, however often the replay runs.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { listen } from '../../functions/adapters/http-server.js';
import { createIngest } from '../../functions/ingest/app.js';
import { EVENT_CE_TYPE } from '../../functions/cloudevents/index.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';
import { VALID_EVENTS } from '../unit/builders.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let stack: Stack;
beforeAll(async () => { stack = await startStack({ BATCH_MAX_AGE_MS: 50, ANALYTICS_CACHE_MS: 0 }); });
afterAll(async () => stack?.stop());

const post = async (url: string, data: Record<string, unknown>) => {
  const r = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': String(data.event_id), 'ce-source': '/shop', 'ce-type': EVENT_CE_TYPE },
    body: JSON.stringify(data),
  });
  return (await r.json()) as { stored: number; dead_lettered: number; rejected: { reason: string; field?: string }[] };
};

test('dead-lettered under the old policy, replayed in one command after the change, counted once', async () => {
  // Before: an ingest that refuses unknown fields, as this project did until the policy changed.
  const strict = createIngest({ ...stack.config, UNKNOWN_FIELDS: 'reject' }, { ch: stack.ch, tiers: stack.tiers.tiers, metrics: createMetrics(), log: createLogger('strict', 'silent') });
  const server = await listen(strict.handler, 0, '127.0.0.1');
  const strictUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const now = new Date().toISOString();
  const events = [0, 1, 2].map(() => ({ ...VALID_EVENTS.page_view, event_id: randomUUID(), user_id: randomUUID(), timestamp: now, coupon: 'SPRING10' }));
  for (const e of events) expect(await post(strictUrl, e)).toMatchObject({ stored: 0, dead_lettered: 1, rejected: [{ reason: 'schema_violation', field: 'coupon' }] });
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await strict.close();

  const ids = events.map((e) => e.event_id);
  const stored = async () => Number((await stack.query<{ n: string }>('SELECT sum(sign) AS n FROM {db}.user_events_realtime WHERE toString(event_id) IN {ids:Array(String)}', { ids }))[0]?.n ?? 0);
  const pageViews = async () => (await stack.api<{ event_type: string; events: number }[]>('/api/event-types')).find((t) => t.event_type === 'page_view')?.events ?? 0;
  await waitFor(async () => ((await stack.api<{ counts: { count: number }[] }>('/api/dead-letters?reason=schema_violation')).counts.length ? true : undefined), 'the dead letters');
  expect(await stored()).toBe(0);
  const before = await pageViews();

  // After the change (the stack's ingest: UNKNOWN_FIELDS=warn), the replay, run twice as an
  // operator might: export the dead letters and resubmit them, one shell command.
  // The second run goes to another replica, which has not seen the ids: both copies are stored.
  const replay = (url: string) => `node --import tsx scripts/send.ts --url ${url}/ --mode batch --file <(curl -s '${stack.analyticsUrl}/api/dead-letters/export?reason=schema_violation')`;
  const first = await promisify(execFile)('bash', ['-c', replay(stack.ingestUrl)], { cwd: ROOT });
  expect(first.stdout).toContain('"stored":3,"duplicates":0,"dead_lettered":0');
  const replica = await stack.startReplica();
  try {
    const second = await promisify(execFile)('bash', ['-c', replay(replica.url)], { cwd: ROOT });
    expect(second.stdout).toContain('"stored":3,"duplicates":0,"dead_lettered":0');
  } finally {
    await replica.stop();
  }

  const copies = async () => Number((await stack.query<{ n: string }>('SELECT countIf(sign = 1) AS n FROM {db}.user_events_realtime WHERE toString(event_id) IN {ids:Array(String)}', { ids }))[0]?.n ?? 0);
  await waitFor(async () => ((await copies()) === 6 ? true : undefined), 'both replays stored');
  await waitFor(async () => ((await stored()) === 3 ? true : undefined), 'the second copies cancelled', 60_000);
  // The sessionizer cancels a copy stored twice; the figures count each event once.
  await waitFor(async () => ((await pageViews()) === before + 3 ? true : undefined), 'the page views counted');
  expect(await stored()).toBe(3);
  const warnings = await stack.query<{ record_id: string; field: string }>('SELECT record_id, field FROM {db}.data_quality_warnings FINAL WHERE record_id IN {ids:Array(String)} ORDER BY record_id', { ids });
  expect(warnings).toEqual([...ids].sort().map((record_id) => ({ record_id, field: 'coupon' })));
  // The original dead letters stay as history.
  const dl = await stack.query<{ n: string }>('SELECT count() AS n FROM {db}.dead_letter_events FINAL WHERE ce_id IN {ids:Array(String)}', { ids });
  expect(Number(dl[0]!.n)).toBe(3);
}, 120_000);
