// npm start's status line when ClickHouse is down: the funnel's 503 body is no funnel (it threw a
// TypeError before and took the process down), the outage is named with its length, and it clears.
import { describe, expect, test } from 'vitest';
import { formatStatus, funnelOf, nextClickHouseState, type ClickHouseState } from '../../scripts/start/status-line.js';

const at = Date.parse('2026-03-02T08:00:05.000Z');
const base = {
  prev: { at: at - 5_000, received: 0, stored: 0, rejected: 0 },
  cur: { at, received: 1_000, stored: 500, rejected: 3 },
  batches: { count: 4, rowsSum: 2_000, secondsSum: 1 },
  openSessions: 7,
};

describe('funnelOf', () => {
  test.each([
    [{ data: [{ step: 'page_view', users: 3 }, { step: 'purchase', users: 1 }] }, [{ step: 'page_view', users: 3 }, { step: 'purchase', users: 1 }]],
    [{ code: 'unavailable', detail: 'ClickHouse is down' }, undefined],
    [{ data: null }, undefined],
    [null, undefined],
    ['Service Unavailable', undefined],
    [{ data: [{ step: 'page_view' }] }, []],
  ])('%j', (body, funnel) => {
    expect(funnelOf(body)).toEqual(funnel);
  });
});

describe('nextClickHouseState', () => {
  test('an outage keeps the time of its first failed probe, and ends with the first good one', () => {
    let s: ClickHouseState = { up: true };
    s = nextClickHouseState(s, { ok: false, why: 'ECONNREFUSED' }, 1_000);
    s = nextClickHouseState(s, { ok: false, why: 'no answer in 2 s' }, 6_000);
    expect(s).toEqual({ up: false, sinceMs: 1_000, why: 'no answer in 2 s' });
    expect(nextClickHouseState(s, { ok: true }, 11_000)).toEqual({ up: true });
  });
});

describe('formatStatus', () => {
  test('up: the rates, batches, sessions and funnel, no outage', () => {
    const line = formatStatus({ ...base, funnel: [{ step: 'page_view', users: 3 }, { step: 'purchase', users: 1 }], clickhouse: { up: true } });
    expect(line).toBe('[08:00:05] in 200/s · stored 100/s · rejected 3 · batches 4 (avg 500 rows, 250 ms) · open sessions 7 · funnel 1h: page_view 3 → purchase 1');
  });

  test('down: no funnel, the outage named with how long it has lasted', () => {
    const line = formatStatus({ ...base, funnel: undefined, clickhouse: { up: false, sinceMs: at - 12_000, why: 'ECONNREFUSED' } });
    expect(line).toContain('ClickHouse DOWN for 12 s (ECONNREFUSED)');
    expect(line).not.toContain('funnel');
  });
});
