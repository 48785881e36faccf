import pino from 'pino';

/** Structured logs: ids and counts, never payloads. One line per batch or failure. */
export function createLogger(name: string, level = 'info') {
  return pino({ name, level, base: { fn: name } });
}
export type Logger = pino.Logger;
