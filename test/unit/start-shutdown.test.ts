// npm start's stop: steps in order, a failing step does not stop the rest, a hanging one (ClickHouse
// down during the flush) cannot hold the process past the deadline, a second signal exits at once.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createShutdown, STOP_DEADLINE_MS, type StopStep } from '../../scripts/start/shutdown.js';

const never = () => new Promise(() => undefined);

function harness(steps: StopStep[], deadlineMs?: number) {
  const exits: number[] = [];
  const lines: string[] = [];
  const shutdown = createShutdown({ steps, deadlineMs, exit: (c) => exits.push(c), print: (l) => lines.push(l) });
  return { shutdown, exits, lines };
}

describe('createShutdown', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  test('runs every step in order, then exits 0', async () => {
    const ran: string[] = [];
    const h = harness(['servers', 'ingest', 'clickhouse'].map((name) => ({ name, run: () => { ran.push(name); } })));
    await h.shutdown.onSignal('SIGTERM');
    expect(ran).toEqual(['servers', 'ingest', 'clickhouse']);
    expect(h.exits).toEqual([0]);
  });

  test('a failing step is reported and the next ones still run', async () => {
    const ran: string[] = [];
    const h = harness([
      { name: 'kafka', run: () => Promise.reject(new Error('broker gone')) },
      { name: 'ingest', run: () => { ran.push('ingest'); } },
    ]);
    await h.shutdown.onSignal('SIGINT');
    expect(ran).toEqual(['ingest']);
    expect(h.lines.join('\n')).toContain('kafka failed: broker gone');
    expect(h.exits).toEqual([0]);
  });

  test('a step that never ends: exit 1 at the deadline, naming it, and nothing after it runs', async () => {
    const after = vi.fn();
    const h = harness([{ name: 'flush the ingest', run: never }, { name: 'after', run: after }]);
    void h.shutdown.onSignal('SIGTERM');
    await vi.advanceTimersByTimeAsync(STOP_DEADLINE_MS - 1);
    expect(h.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.exits).toEqual([1]);
    expect(h.lines.join('\n')).toContain('stuck: flush the ingest');
    expect(after).not.toHaveBeenCalled();
  });

  test('the deadline stays under the 10 s a person waits for Ctrl-C', () => {
    expect(STOP_DEADLINE_MS).toBeLessThan(10_000);
  });

  test('a second signal exits at once', async () => {
    const h = harness([{ name: 'flush', run: never }]);
    void h.shutdown.onSignal('SIGINT');
    expect(h.shutdown.stopping).toBe(true);
    await h.shutdown.onSignal('SIGINT');
    expect(h.exits).toEqual([130]);
    await vi.advanceTimersByTimeAsync(STOP_DEADLINE_MS);
    expect(h.exits).toEqual([130]);
  });
});
