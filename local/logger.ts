import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The local tools log JSON lines to stderr, so stdout stays free for what a CLI prints for people
 * or scripts (the broker address). LOG_LEVEL is read here, at the edge, and nowhere else.
 */
export function createLocalLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination(2));
}
