// sessionId: a UUIDv5 of (user, start). Checked against a straightforward RFC 4122 UUIDv5 written
// here, which is itself checked against the RFC's well-known example first.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { sessionId } from '../../functions/core/ids.js';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SESSION_NAMESPACE = '6f1c2a4e-9b3d-4e6f-8a7b-5c3d2e1f0a9b';

function uuidV5(name: string, namespace: string): string {
  const hex = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest('hex').slice(0, 32);
  const b = hex.match(/../g)!.map((x) => parseInt(x, 16));
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const s = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const U1 = '3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b';
const U2 = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const T = Date.parse('2024-05-01T10:00:00.123Z');

describe('sessionId', () => {
  test('the reference UUIDv5 gives the well-known answer for the DNS namespace', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  test.each([
    [U1, T], [U2, T], [U1, 0], [U1, T + 1], [U2, 1_900_000_000_000],
  ])('(%s, %d) is the UUIDv5 of "user/start" in the session namespace', (user, start) => {
    const id = sessionId(user, start);
    expect(id).toMatch(UUID_V5);
    expect(id).toBe(uuidV5(`${user}/${start}`, SESSION_NAMESPACE));
  });

  test('is deterministic', () => {
    expect(sessionId(U1, T)).toBe(sessionId(U1, T));
  });

  test.each([
    ['by user', sessionId(U1, T), sessionId(U2, T)],
    ['by start (1 ms)', sessionId(U1, T), sessionId(U1, T + 1)],
    ['by start (a day)', sessionId(U1, T), sessionId(U1, T + 86_400_000)],
  ])('differs %s', (_what, a, b) => expect(a).not.toBe(b));

  test('ten thousand (user, start) pairs give ten thousand ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) for (let j = 0; j < 100; j++) ids.add(sessionId(`user-${i}`, T + j));
    expect(ids.size).toBe(10_000);
  });
});
