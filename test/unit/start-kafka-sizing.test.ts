// npm start -- --kafka: the dispatcher's in-flight limit is sized from the rate and the flush age,
// so one-record-per-request delivery keeps up (a fixed 256 against a 2 s flush carried ~111/s).
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../functions/core/config.js';
import { carriedRate, dispatcherInFlight, MAX_IN_FLIGHT, MIN_IN_FLIGHT } from '../../scripts/start/kafka-sizing.js';
import { dispatcherArgs } from '../../scripts/start/kafka.js';
import { mergeConfigInput, parseCliArgs } from '../../local/dispatcher/cli-args.js';
import { parseDispatcherConfig } from '../../local/dispatcher/config.js';

const FLUSH_AGE_MS = loadConfig({}).BATCH_MAX_AGE_MS;

describe('dispatcherInFlight', () => {
  test('the old fixed 256 could not carry the default rate when every request waits a window', () => {
    expect(carriedRate(256, FLUSH_AGE_MS, 'whole window')).toBeLessThan(200 * 0.6);
  });

  test.each([200, 1000, 2000])('%i events/s: twice that carried even when every request waits a whole flush window', (rate) => {
    expect(carriedRate(dispatcherInFlight(rate, FLUSH_AGE_MS), FLUSH_AGE_MS, 'whole window')).toBeGreaterThanOrEqual(2 * rate);
  });

  test('5000 events/s: the cap carries it at the average wait of a steady stream, with room', () => {
    const n = dispatcherInFlight(5000, FLUSH_AGE_MS);
    expect(n).toBe(MAX_IN_FLIGHT);
    expect(carriedRate(n, FLUSH_AGE_MS, 'average')).toBeGreaterThanOrEqual(5000 * 1.25);
  });

  test('grows with the flush age, within the floor and the dispatcher cap', () => {
    expect(dispatcherInFlight(200, 4000)).toBeGreaterThan(dispatcherInFlight(200, 2000));
    expect(dispatcherInFlight(1, FLUSH_AGE_MS)).toBe(MIN_IN_FLIGHT);
    expect(dispatcherInFlight(1e6, FLUSH_AGE_MS)).toBe(MAX_IN_FLIGHT);
  });

  test('--rate 0 (someone else produces, at a rate unknown): the cap', () => {
    expect(dispatcherInFlight(0, FLUSH_AGE_MS)).toBe(MAX_IN_FLIGHT);
  });
});

describe('the dispatcher process npm start -- --kafka spawns', () => {
  test('its command line parses, as local/dispatcher/main.ts reads it, into the sized limit and KafkaSource-like delivery', () => {
    const maxInFlight = dispatcherInFlight(5000, FLUSH_AGE_MS);
    const cli = parseCliArgs(dispatcherArgs({ brokers: '127.0.0.1:9092', sink: 'http://127.0.0.1:8080/', maxInFlight }));
    const config = parseDispatcherConfig(mergeConfigInput({}, cli.overrides, {}));
    expect(config).toMatchObject({ maxInFlight, maxInFlightPerPartition: maxInFlight, ordering: 'unordered', sink: 'http://127.0.0.1:8080/', deadLetterTopic: 'dead_letter_events' });
    expect(config.topics).toEqual(['user_events', 'transactions']);
    expect(config.delivery).toMatchObject({ retry: 5, backoffPolicy: 'exponential', backoffDelayMs: 200 });
  });
});
