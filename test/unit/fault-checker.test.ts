// The fault harness's checker on hand-made cases: each kind of fault is reported, and a clean run
// reports nothing.
import { describe, expect, test } from 'vitest';
import { checkDelivery, formatReport, type Sent, type StoredRow } from '../helpers/fault-checker.js';

const sent: Sent[] = [
  { event_id: 'a1', user_id: 'a', seq: 1 }, { event_id: 'a2', user_id: 'a', seq: 2 }, { event_id: 'a3', user_id: 'a', seq: 3 },
  { event_id: 'b1', user_id: 'b', seq: 1 }, { event_id: 'b2', user_id: 'b', seq: 2 },
];
const row = (event_id: string, stored_at: string, sign = 1): StoredRow => ({ event_id, sign, stored_at });
const clean = [row('a1', '1'), row('a2', '2'), row('a3', '3'), row('b1', '1'), row('b2', '2')];

describe('checkDelivery', () => {
  test('a clean run reports nothing', () => {
    expect(checkDelivery(sent, clean)).toEqual({ sent: 5, stored: 5, missing: [], duplicated: [], unexpected: [], outOfOrder: 0 });
  });
  test('missing: never stored, or stored and cancelled', () => {
    const r = checkDelivery(sent, [row('a1', '1'), row('a2', '2'), row('a2', '5', -1), row('a3', '3'), row('b1', '1')]);
    expect(r.missing).toEqual(['a2', 'b2']);
  });
  test('duplicated: two net copies; a cancelled copy is not a duplicate', () => {
    const r = checkDelivery(sent, [...clean, row('a1', '4'), row('b1', '4'), row('b1', '6', -1)]);
    expect(r.duplicated).toEqual(['a1']);
    expect(r.missing).toEqual([]);
  });
  test('unexpected: stored but never sent (ids compared case-insensitively)', () => {
    const r = checkDelivery(sent, [...clean.map((c) => ({ ...c, event_id: c.event_id.toUpperCase() })), row('zz', '9')]);
    expect(r.unexpected).toEqual(['zz']);
    expect(r.missing).toEqual([]);
  });
  test('out of order: counted per user by first-stored time against sequence order', () => {
    const r = checkDelivery(sent, [row('a1', '3'), row('a2', '1'), row('a3', '2'), row('b1', '1'), row('b2', '2')]);
    expect(r.outOfOrder).toBe(2);
  });
  test('the report line names the scenario (this test file by default) and every count', () => {
    const r = checkDelivery(sent, [row('a1', '3'), row('a3', '2'), row('b1', '1'), row('b1', '4'), row('zz', '9')]);
    expect(formatReport(r)).toBe('fault report (fault-checker): sent 5, stored 4 net, missing 2, duplicated 1, unexpected 1, out of order 1');
    expect(formatReport(r, 'outage')).toMatch(/^fault report \(outage\): /);
  });
});
