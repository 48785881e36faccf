import { createHash } from 'node:crypto';

// UUIDv5 namespace of speed-layer sessions (a random constant, fixed forever: changing it changes every id).
const SESSION_NAMESPACE = Buffer.from('6f1c2a4e9b3d4e6f8a7b5c3d2e1f0a9b', 'hex');

/**
 * A session's id is a UUIDv5 of its user and its start time, so any replica, any restart and the
 * offline reference all derive the same id for the same session.
 */
export function sessionId(userId: string, startMs: number): string {
  const h = createHash('sha1').update(SESSION_NAMESPACE).update(`${userId}/${startMs}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const s = h.subarray(0, 16).toString('hex');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
