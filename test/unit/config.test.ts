// loadConfig: documented defaults, numbers coerced from environment strings, bad values named.
import { describe, expect, test } from 'vitest';
import { describeConfig, loadConfig } from '../../functions/core/config.js';

describe('loadConfig', () => {
  test('an empty environment gives the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080, CLICKHOUSE_URL: '', CLICKHOUSE_DATABASE: 'speed_layer', CLICKHOUSE_DATA_DIR: '.data/clickhouse', KAFKA_BROKERS: '',
      BATCH_MAX_ROWS: 10_000, BATCH_MAX_AGE_MS: 2_000, TIER_CACHE_TTL_S: 900, SESSION_GAP_MS: 1_800_000,
      ALLOWED_LATENESS_MS: 60_000, MAX_FUTURE_SKEW_MS: 300_000, LOG_LEVEL: 'info',
    });
    for (const { name, default: d } of describeConfig()) expect(c[name as keyof typeof c], name).toEqual(d);
  });

  test('every option has a default', () => {
    expect(describeConfig().filter((o) => o.default === undefined)).toEqual([]);
  });

  test.each([
    ['PORT', '9000', 9000],
    ['PORT', '0', 0],
    ['PORT', '65535', 65535],
    ['BATCH_MAX_ROWS', '500', 500],
    ['SESSION_GAP_MS', '60000', 60_000],
    ['ALLOWED_LATENESS_MS', '0', 0],
    ['DEDUPE_WINDOW', '0', 0],
    ['KAFKA_BROKERS', 'a:9092,b:9092', 'a:9092,b:9092'],
    ['CLICKHOUSE_DATABASE', 'analytics_2', 'analytics_2'],
    ['USERS_TABLE', 'public.users', 'public.users'],
    ['LOG_LEVEL', 'debug', 'debug'],
  ])('%s=%s is read as %j', (name, value, expected) => {
    expect(loadConfig({ [name]: value })[name as 'PORT']).toBe(expected);
  });

  test('ACK_BUDGET_MS must be longer than a flush window', () => {
    expect(() => loadConfig({ ACK_BUDGET_MS: '2000' })).toThrow(/ACK_BUDGET_MS: must be longer than BATCH_MAX_AGE_MS \(2000\).*got 2000/);
    expect(() => loadConfig({ BATCH_MAX_AGE_MS: '15000' })).toThrow(/ACK_BUDGET_MS/);
    expect(loadConfig({ ACK_BUDGET_MS: '2001' }).ACK_BUDGET_MS).toBe(2_001);
  });

  test('an empty variable counts as unset', () => {
    expect(loadConfig({ PORT: '', BATCH_MAX_ROWS: '' })).toMatchObject({ PORT: 8080, BATCH_MAX_ROWS: 10_000 });
  });

  test('unknown variables are ignored', () => {
    expect(loadConfig({ HOME: '/root', PATH: '/bin' })).not.toHaveProperty('HOME');
  });

  test('overrides beat the environment, which beats the caller\'s defaults', () => {
    expect(loadConfig({ PORT: '9000' }, {}, { PORT: 7000 }).PORT).toBe(9000);
    expect(loadConfig({}, {}, { PORT: 7000 }).PORT).toBe(7000);
    expect(loadConfig({ PORT: '9000' }, { PORT: 1234 }, { PORT: 7000 }).PORT).toBe(1234);
  });

  test.each([
    ['BATCH_MAX_ROWS', 'abc'],
    ['BATCH_MAX_ROWS', '0'],
    ['BATCH_MAX_ROWS', '1.5'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', 'http'],
    ['PG_POOL_SIZE', '101'],
    ['SESSION_GAP_MS', '0'],
    ['CLICKHOUSE_DATABASE', 'drop table; --'],
    ['CLICKHOUSE_DATABASE', '1db'],
    ['USERS_TABLE', 'users; drop'],
    ['LOG_LEVEL', 'verbose'],
  ])('%s=%s throws an error naming the variable and the value', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration[\\s\\S]*${name}`));
    // The value is shown as read (numbers after coercion).
    expect(() => loadConfig({ [name]: value })).toThrow(`(got ${/^-?\d+$/.test(value) ? value : JSON.stringify(value)})`);
  });

  test('several bad values are all named', () => {
    let message = '';
    try { loadConfig({ PORT: '70000', BATCH_MAX_ROWS: 'abc' }); } catch (err) { message = (err as Error).message; }
    expect(message).toContain('PORT');
    expect(message).toContain('BATCH_MAX_ROWS');
  });

  test('the environment object passed in is not modified', () => {
    const env = { PORT: '9000' };
    loadConfig(env);
    expect(env).toEqual({ PORT: '9000' });
  });
});
