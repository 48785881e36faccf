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
  return formatUuid(h);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const DASH_AFTER = new Set([3, 5, 7, 9]);

/**
 * The first 16 bytes as a UUID string, built as one flat string: a sessionizer holds hundreds of
 * thousands of these, and a string glued from slices costs several times its length in the heap.
 */
export function formatUuid(bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(36);
  let o = 0;
  for (let i = 0; i < 16; i++) {
    const x = HEX[bytes[i]!]!;
    out[o++] = x.charCodeAt(0);
    out[o++] = x.charCodeAt(1);
    if (DASH_AFTER.has(i)) out[o++] = 45;
  }
  return out.toString('latin1');
}
