// Seeded mutations of valid CloudEvents requests for the fuzz tests (fuzz-pipeline.test.ts in
// process, fuzz-http.test.ts over HTTP): value mutations (field deletion, duplication, type swaps,
// huge values, random unicode, __proto__ keys, envelope attributes) and byte mutations (bit flips,
// truncation, inserted bytes) of valid events and transactions in all three modes.
import { EVENT_CE_TYPE, KAFKA_CE_TYPE, TRANSACTION_CE_TYPE } from '../../functions/cloudevents/index.js';
import { VALID_EVENTS, VALID_TRANSACTION } from './builders.js';

export type FuzzRequest = { mode: 'binary' | 'structured' | 'batch'; headers: Record<string, string>; body: Buffer };

/** mulberry32: a small, fast, seeded PRNG. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const hex = (r: Rng, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[r.int(16)]).join('');
const uuid = (r: Rng) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12)}`;

/** Random unicode: ASCII, controls, BMP, astral, lone surrogates, quotes and backslashes. */
function randomText(r: Rng, max = 40): string {
  const n = r.int(max + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r.int(8);
    const cp = k === 0 ? r.int(0x20) : k === 1 ? 0x20 + r.int(0x5f) : k === 2 ? 0x80 + r.int(0x780) : k === 3 ? 0x800 + r.int(0xd000)
      : k === 4 ? 0xd800 + r.int(0x800) : k === 5 ? 0x10000 + r.int(0x100000) : k === 6 ? r.pick([0x22, 0x5c, 0x27, 0x7b, 0x5b, 0]) : 0xfffd;
    s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  }
  return s;
}

const nest = (depth: number) => { let v: unknown = 1; for (let i = 0; i < depth; i++) v = [v]; return v; };

function oddValue(r: Rng): unknown {
  switch (r.int(16)) {
    case 0: return null;
    case 1: return r.int(2) === 1;
    case 2: return r.pick([0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER]);
    case 3: return r.pick(['NaN', 'Infinity', '-Infinity', '-1.00', '1e3', '12.345', '99999999999999.99', '', ' ', '0x10']);
    case 4: return [];
    case 5: return {};
    case 6: return randomText(r);
    case 7: return 'x'.repeat(r.pick([513, 4096, 100_000]));
    case 8: return Array.from({ length: r.pick([101, 1000, 20_000]) }, (_, i) => i);
    case 9: return nest(r.pick([10, 63, 65, 1000]));
    case 10: return r.pick([`'; DROP TABLE user_events_realtime; --`, `" OR 1=1 --`, '{db}', '\\N', '\u0000', '<script>alert(1)</script>']);
    case 11: return r.pick(['9999-12-31T23:59:59.999Z', '0001-01-01T00:00:00.000Z', '2024-02-30T10:00:00.000Z', '2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000+02:00', '2024-05-01T23:59:60.000Z']);
    case 12: return r.pick(['not-a-uuid', `urn:uuid:${uuid(r)}`, `{${uuid(r)}}`, uuid(r).toUpperCase(), uuid(r).replace(/-/g, ''), '00000000-0000-0000-0000-000000000000']);
    case 13: return { __proto__: { polluted: 'yes' } } as unknown;
    case 14: return JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');
    default: return r.pick(['page_view', 'refund', 'PURCHASE', 'purchase ', 7]);
  }
}

/** A valid payload (a user event of any type, or a transaction) with fresh ids and a current time. */
function validPayload(r: Rng, nowMs: number): { kind: 'event' | 'transaction'; data: Record<string, unknown> } {
  const timestamp = new Date(nowMs - r.int(3600_000)).toISOString();
  if (r.chance(0.15)) return { kind: 'transaction', data: { ...VALID_TRANSACTION, transaction_id: uuid(r), order_id: uuid(r), user_id: uuid(r), timestamp } };
  const base = r.pick(Object.values(VALID_EVENTS));
  return { kind: 'event', data: { ...base, event_id: uuid(r), user_id: uuid(r), timestamp } };
}

function mutateValue(r: Rng, o: Record<string, unknown>): void {
  if (o === null || typeof o !== 'object') return;
  const keys = Object.keys(o);
  if (!keys.length) { o.extra = oddValue(r); return; }
  switch (r.int(6)) {
    case 0: delete o[r.pick(keys)]; break;
    case 1: o[r.pick(keys)] = oddValue(r); break;
    case 2: o[r.pick([...keys, 'extra', '__proto__', 'constructor', 'prototype', randomText(r, 8)])] = oddValue(r); break;
    case 3: { const k = r.pick(keys); const v = o[k]; if (typeof v === 'string') o[k] = v + randomText(r, 4); else o[k] = JSON.stringify(v) ?? 'undefined'; break; }
    case 4: { const k = r.pick(keys); o[k] = Array.isArray(o[k]) ? { ...o[k] } : [o[k]]; break; }
    default: if (Array.isArray(o.items) && o.items.length) mutateValue(r, o.items[0] as Record<string, unknown>); else o[r.pick(keys)] = oddValue(r);
  }
}

function mutateBytes(r: Rng, b: Buffer): Buffer {
  switch (r.int(7)) {
    case 6: { // deep nesting as text (a value this deep cannot be built and serialized here)
      const at = r.int(b.length + 1); const n = r.pick([65, 5000, 100_000]);
      return Buffer.concat([b.subarray(0, at), Buffer.from('['.repeat(n) + ']'.repeat(n)), b.subarray(at)]);
    }
    case 0: { const c = Buffer.from(b); for (let i = 0, n = 1 + r.int(8); i < n && c.length; i++) c[r.int(c.length)]! ^= 1 << r.int(8); return c; }
    case 1: return b.subarray(0, r.int(b.length + 1));
    case 2: { const at = r.int(b.length + 1); return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + r.int(8) }, () => r.int(256))), b.subarray(at)]); }
    case 3: { const at = r.int(b.length + 1); return Buffer.concat([b.subarray(0, at), Buffer.from(randomText(r, 8)), b.subarray(at)]); }
    case 4: { // duplicate a key: repeat the first "key": value pair
      const s = b.toString('latin1'); const m = /"[a-z_]+":("[^"]*"|[0-9.]+)/.exec(s);
      return m ? Buffer.from(s.replace(m[0], `${m[0]},${m[0].replace(/:.*/, `:${JSON.stringify(r.pick([1, 'x', null]))}`)}`), 'latin1') : b;
    }
    default: { const at = r.int(b.length + 1); return Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(['[', '{', ']', '}', ',', '"', '\\', '\u0000', 'null'])), b.subarray(at)]); }
  }
}

const ceType = (r: Rng, kind: 'event' | 'transaction') => (r.chance(0.2) ? KAFKA_CE_TYPE : kind === 'event' ? EVENT_CE_TYPE : TRANSACTION_CE_TYPE);
const ceSource = (type: string, kind: 'event' | 'transaction') => (type === KAFKA_CE_TYPE ? `/apis/v1/namespaces/ns/kafkasources/k#${kind === 'event' ? 'user_events' : 'transactions'}` : '/shop');

function structuredEvent(r: Rng, nowMs: number): Record<string, unknown> {
  const { kind, data } = validPayload(r, nowMs);
  if (r.chance(0.5)) for (let i = 0, n = 1 + r.int(3); i < n; i++) mutateValue(r, data);
  const type = ceType(r, kind);
  const ce: Record<string, unknown> = { specversion: '1.0', id: uuid(r), source: ceSource(type, kind), type, datacontenttype: 'application/json', data };
  if (r.chance(0.05)) { delete ce.data; ce.data_base64 = Buffer.from(JSON.stringify(data)).toString('base64'); }
  if (r.chance(0.2)) mutateValue(r, ce);
  return ce;
}

/** The `n`-th request of the run seeded `seed`; about a third carry byte-level damage. */
export function fuzzRequests(seed: number, count: number, nowMs: number): FuzzRequest[] {
  const r = prng(seed);
  const out: FuzzRequest[] = [];
  for (let i = 0; i < count; i++) {
    const mode = r.pick(['binary', 'binary', 'structured', 'batch'] as const);
    let headers: Record<string, string>;
    let body: Buffer;
    if (mode === 'binary') {
      const { kind, data } = validPayload(r, nowMs);
      if (r.chance(0.6)) for (let j = 0, n = 1 + r.int(3); j < n; j++) mutateValue(r, data);
      const type = ceType(r, kind);
      headers = { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': uuid(r), 'ce-source': ceSource(type, kind), 'ce-type': type };
      if (r.chance(0.1)) headers[r.pick(Object.keys(headers))] = r.pick(['', '0.3', 'x', 'text/plain', '__proto__']);
      if (r.chance(0.05)) delete headers[r.pick(Object.keys(headers))];
      body = Buffer.from(JSON.stringify(data));
    } else if (mode === 'structured') {
      headers = { 'content-type': r.chance(0.95) ? 'application/cloudevents+json; charset=utf-8' : r.pick(['text/plain', 'application/json', 'application/cloudevents+xml']) };
      body = Buffer.from(JSON.stringify(structuredEvent(r, nowMs)));
    } else {
      headers = { 'content-type': 'application/cloudevents-batch+json' };
      const items: unknown[] = Array.from({ length: r.int(6) }, () => structuredEvent(r, nowMs));
      if (r.chance(0.1)) items.push(oddValue(r));
      if (r.chance(0.05) && items.length) items.push(items[0]);
      body = Buffer.from(JSON.stringify(items));
    }
    if (r.chance(0.35)) for (let j = 0, n = 1 + r.int(2); j < n; j++) body = mutateBytes(r, body);
    out.push({ mode, headers, body });
  }
  return out;
}
