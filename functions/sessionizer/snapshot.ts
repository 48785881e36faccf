import { setImmediate as yieldTurn } from 'node:timers/promises';
import { createSeenRows, type Block, type SeenRows } from './seen-rows.js';
import { chMs, type SessionStore } from './store.js';

/**
 * Snapshots of the open sessions (sessionizer_open, one partition per generation). A sessionizer
 * starts from the newest complete snapshot and replays the inbox from that snapshot's cursor, so a
 * restart costs one snapshot read and a few minutes of inbox, however much history is stored.
 */
export type Progress = { cursorMs: number; maxEventMs: number; watermarkMs: number };

const iso = (ms: number) => new Date(ms).toISOString();
const ROWS_PER_INSERT = 50_000;
const YIELD_EVERY = 5_000;
/** The row of a snapshot that holds the rows the last runs read (user ids are v4, never nil). */
const SEEN_ROW = '00000000-0000-0000-0000-000000000000';

/** What a snapshot holds, captured at one moment: each user's open sessions, encoded (encodeOpen), and the rows the last runs read. */
export type SnapshotState = { open: Iterable<[string, string]>; seen: ReturnType<SeenRows['toJSON']>; progress: Progress };

export async function writeSnapshot(store: SessionStore, state: SnapshotState, generation: number) {
  let rows: [string, string][] = [[SEEN_ROW, JSON.stringify(state.seen)]];
  let users = 0;
  const add = async (user: string, encoded: string) => {
    rows.push([user, encoded]);
    // A million rows are seconds of JavaScript: the ingest may share the event loop (npm start).
    if (++users % YIELD_EVERY === 0) await yieldTurn();
    if (rows.length >= ROWS_PER_INSERT) {
      await store.insertOpen(generation, rows, `open:${generation}:${users}`);
      rows = [];
    }
  };
  for (const [user, encoded] of state.open) await add(user, encoded);
  await store.insertOpen(generation, rows, `open:${generation}:${users}`);
  const { progress } = state;
  // Only once every row is in does the snapshot count; then older generations can go.
  await store.insert('sessionizer_state', [{ name: 'snapshot', cursor: iso(progress.cursorMs), max_event: iso(progress.maxEventMs), watermark: iso(progress.watermarkMs), updated_at: iso(Date.now()), generation, users: users + 1 }]);
  const gens = await store.query<{ generation: string }>('snapshotGenerations', {});
  for (const g of gens.map((r) => Number(r.generation)).filter((g) => g < generation)) {
    await store.command('dropSnapshot', { generation: g });
  }
  return users;
}

/** The newest complete snapshot (each user's open sessions as stored, encoded), or an empty start (cursor 0: the whole inbox is replayed). */
export async function loadSnapshot(store: SessionStore): Promise<{ progress: Progress; open: Map<string, string>; seen: SeenRows }> {
  for (let attempt = 0; ; attempt++) {
    const [s] = await store.query<{ cursor: string; max_event: string; watermark: string; generation: string; users: string }>('state', { name: 'snapshot' });
    const open = new Map<string, string>();
    if (!s) return { progress: { cursorMs: 0, maxEventMs: 0, watermarkMs: 0 }, open, seen: createSeenRows() };
    let seen = createSeenRows(), rows = 0;
    await store.queryEach<[string, string]>('snapshot', { generation: s.generation }, ([user, state]) => {
      rows++;
      if (user === SEEN_ROW) seen = createSeenRows(JSON.parse(state) as { untilMs: number; keys: string[]; blocks?: Block[] }[]);
      else open.set(user, state);
    });
    // A newer snapshot may have dropped this one while it was read: take the newer one then.
    if (rows === Number(s.users) || attempt >= 5) return { progress: { cursorMs: chMs(s.cursor), maxEventMs: chMs(s.max_event), watermarkMs: chMs(s.watermark) }, open, seen };
  }
}
