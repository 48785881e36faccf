import { createSeenRows, type Block, type SeenRows } from './seen-rows.js';
import { chMs, type SessionStore } from './store.js';

/**
 * Snapshots of the open sessions (sessionizer_open, one partition per generation). A snapshot is a
 * chain of generations: a full one (every user with an open session), then deltas, each holding
 * only the users changed since the generation before ('' for a user whose sessions all closed).
 * A delta costs what changed, not what is open; once the chain would hold more than twice the rows
 * of a full snapshot, the next one is full again, so loading never reads much more than that.
 * A sessionizer starts from the newest complete chain and replays the inbox from its cursor, so a
 * restart costs one chain read and a few minutes of inbox, however much history is stored.
 */
export type Progress = { cursorMs: number; maxEventMs: number; watermarkMs: number };
/** The generations of the newest snapshot, oldest (full) first, and the rows each holds. */
export type Chain = { generations: number[]; rows: number[] };

const iso = (ms: number) => new Date(ms).toISOString();
/**
 * Rows per insert: ~1.2 MB of text, tens of milliseconds of the event loop and of the engine. A
 * snapshot goes one insert at a time between runs (`pace`), so a run that starts meanwhile shares the
 * cores with one such insert at most.
 */
const ROWS_PER_INSERT = 5_000;
/** The row of a snapshot that holds the rows the last runs read (user ids are v4, never nil). */
const SEEN_ROW = '00000000-0000-0000-0000-000000000000';
/** A user of a delta with no open session left. */
export const GONE = '';
/** Loads retried while a newer snapshot drops the generations being read. */
const LOAD_ATTEMPTS = 5;

/**
 * Whether the next snapshot is a full one: there is no chain yet, a generation of it is gone (a
 * second sessionizer, in a rollout, dropped it), or with this delta the chain would hold more than
 * twice the rows a full snapshot would (loading it would cost more than that).
 */
export function snapshotIsFull(chain: Chain, stored: ReadonlySet<number>, changedUsers: number, openUsers: number): boolean {
  if (!chain.generations.length || chain.generations.some((g) => !stored.has(g))) return true;
  return chain.rows.reduce((s, n) => s + n, 0) + changedUsers > 2 * openUsers;
}

/** The generations sessionizer_open holds. */
export async function storedGenerations(store: SessionStore): Promise<Set<number>> {
  return new Set((await store.query<{ generation: string }>('snapshotGenerations', {})).map((r) => Number(r.generation)));
}

/**
 * What a snapshot holds, captured at one moment: the users it writes with their open sessions
 * encoded (encodeOpen; GONE in a delta for a user with none left), the rows the last runs read, and
 * whether it starts a new chain.
 */
export type SnapshotState = { users: Iterable<[string, string]>; full: boolean; seen: ReturnType<SeenRows['toJSON']>; progress: Progress };

/**
 * Writes one generation and the state row that makes it part of the newest chain; answers that
 * chain. `stored`: the generations read before (storedGenerations); any written since by another
 * sessionizer is newer than this chain's first, so it is not one this drops. `pace` is awaited before
 * each insert (the sessionizer's waits for the run going on to end).
 */
export async function writeSnapshot(store: SessionStore, state: SnapshotState, generation: number, chain: Chain, stored: ReadonlySet<number>, pace: () => Promise<void> = async () => undefined): Promise<Chain> {
  let rows: [string, string][] = [[SEEN_ROW, JSON.stringify(state.seen)]];
  let users = 0;
  const flush = async () => {
    await pace();
    await store.insertOpen(generation, rows, `open:${generation}:${users}`);
    rows = [];
  };
  for (const [user, encoded] of state.users) {
    rows.push([user, encoded]);
    users++;
    if (rows.length >= ROWS_PER_INSERT) await flush();
  }
  await flush();
  const next: Chain = state.full
    ? { generations: [generation], rows: [users + 1] }
    : { generations: [...chain.generations, generation], rows: [...chain.rows, users + 1] };
  const { progress } = state;
  // Only once every row is in does the snapshot count; then the generations before its chain can go
  // (not later ones: in a rollout they may be another sessionizer's chain).
  await store.insert('sessionizer_state', [{
    name: 'snapshot', cursor: iso(progress.cursorMs), max_event: iso(progress.maxEventMs), watermark: iso(progress.watermarkMs), updated_at: iso(Date.now()),
    generation, users: users + 1, chain: next.generations, chain_users: next.rows,
  }]);
  for (const g of stored) if (g < next.generations[0]!) await store.command('dropSnapshot', { generation: g });
  return next;
}

type StateRow = { cursor: string; max_event: string; watermark: string; generation: string; users: string; chain: string[]; chain_users: string[] };

/**
 * The newest complete snapshot (each user's open sessions as stored, encoded, its chain applied in
 * order), or an empty start (cursor 0: the whole inbox is replayed) when there is none, or when no
 * complete chain could be read (a newer snapshot dropped it each time).
 */
export async function loadSnapshot(store: SessionStore): Promise<{ progress: Progress; open: Map<string, string>; seen: SeenRows; chain: Chain; complete: boolean }> {
  const empty = { progress: { cursorMs: 0, maxEventMs: 0, watermarkMs: 0 }, open: new Map<string, string>(), seen: createSeenRows(), chain: { generations: [], rows: [] } };
  for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
    const [s] = await store.query<StateRow>('state', { name: 'snapshot' });
    if (!s) return { ...empty, complete: true };
    // A snapshot written before chains is a chain of its one generation.
    const chain: Chain = s.chain?.length
      ? { generations: s.chain.map(Number), rows: s.chain_users.map(Number) }
      : { generations: [Number(s.generation)], rows: [Number(s.users)] };
    const open = new Map<string, string>();
    let seen = createSeenRows();
    let complete = true;
    for (const [i, generation] of chain.generations.entries()) {
      let rows = 0;
      await store.queryEach<[string, string]>('snapshot', { generation }, ([user, state]) => {
        rows++;
        if (user === SEEN_ROW) seen = createSeenRows(JSON.parse(state) as { untilMs: number; keys: string[]; blocks?: Block[] }[]);
        else if (state === GONE) open.delete(user);
        else open.set(user, state);
      });
      if (rows !== chain.rows[i]) {
        complete = false;
        break;
      }
    }
    if (complete) return { progress: { cursorMs: chMs(s.cursor), maxEventMs: chMs(s.max_event), watermarkMs: chMs(s.watermark) }, open, seen, chain, complete };
  }
  return { ...empty, complete: false };
}
