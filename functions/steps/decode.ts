import { ok, reject, type Result } from '../core/result.js';
import type { IncomingEvent } from '../cloudevents/http.js';

/**
 * An event's data parsed, as a step: bad JSON is a dead-letter reason, not an exception. The
 * CloudEvents bindings (how the event came: headers, content types) are functions/cloudevents/.
 */
/** JSON nested deeper than this is refused before anything walks it (no valid event nests beyond 5). */
export const MAX_JSON_DEPTH = 64;

/** Parses the data of an event; bad JSON is a dead-letter reason, not an exception. */
export function parseData(e: IncomingEvent): Result<unknown> {
  if ('parsed' in e) return ok(e.parsed);
  if (e.notUtf8) return reject('invalid_json', 'data is not valid UTF-8');
  if (depthExceeds(e.raw, MAX_JSON_DEPTH)) return reject('schema_violation', `data is nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return ok(JSON.parse(e.raw));
  } catch (err) {
    return reject('invalid_json', `data is not valid JSON: ${jsonErrorDetail(err)}`);
  }
}

/** V8's message without the snippet of input it quotes (`Unexpected token '<', "<script>…" is not valid JSON`). */
export function jsonErrorDetail(err: unknown): string {
  return String((err as Error).message).replace(/, ".*"(\.\.\.)? is not valid JSON$/s, '').slice(0, 200);
}

/**
 * Whether JSON text nests arrays/objects deeper than `max`, by one pass over the characters
 * (strings skipped). Invalid JSON may be miscounted; JSON.parse refuses it anyway.
 */
export function depthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: jump to its closing quote
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
