// The analytics queries: values only ever reach ClickHouse as bound {name:Type} parameters, and
// every table is named through {db} (the configured database, validated by loadConfig).
import { describe, expect, test } from 'vitest';
import { QUERIES, STEP_NUMBERS } from '../../functions/analytics/queries.js';
import { FUNNEL_STEPS } from '../../functions/schemas/events.js';

const TABLES = [
  'user_events_realtime', 'transactions_realtime', 'user_sessions_realtime', 'dead_letter_events', 'data_quality_warnings',
  'conversion_funnel', 'user_tier_performance', 'product_performance',
  'late_events', 'sessionizer_state', 'user_events_sessionized', 'session_funnel', 'users_hourly',
];
// The only parameters the API binds, each always with the same ClickHouse type.
const PARAM_TYPES: Record<string, string> = {
  from: "DateTime64(3, 'UTC')", to: "DateTime64(3, 'UTC')", tier: 'String', sort: 'String', reason: 'String', kind: 'String', limit: 'UInt32', user: 'UUID',
};
// Literals written into the SQL by the code itself (constants, never request input).
// ('main' names the sessionizer's state row.)
const LITERALS = new Set(['', 'views', 'purchases', 'main', ...FUNNEL_STEPS]);

const entries = Object.entries(QUERIES);
const braces = (sql: string) => [...sql.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
const withoutPlaceholders = (sql: string) => sql.replace(/\{[^{}]*\}/g, '?');

describe('analytics queries', () => {
  test('there are queries to check', () => {
    expect(entries.length).toBeGreaterThanOrEqual(10);
  });

  test.each(entries)('%s uses only {db} and {name:Type} placeholders of the known names and types', (_name, sql) => {
    for (const inner of braces(sql)) {
      if (inner === 'db') continue;
      const m = /^([a-z_]+):(.+)$/.exec(inner);
      expect(m, `placeholder {${inner}}`).not.toBeNull();
      expect(PARAM_TYPES[m![1]!], `type of {${inner}}`).toBe(m![2]);
    }
  });

  test.each(entries)('%s names every table as {db}.<known table>', (_name, sql) => {
    const refs = [...sql.matchAll(/\b(?:FROM|JOIN)\s+(\S+)/gi)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      if (ref === '(' || ref.startsWith('(')) continue; // a subquery (its own FROM is checked too)
      expect(ref).toMatch(/^\{db\}\.[a-z_]+$/);
      expect(TABLES).toContain(ref.slice('{db}.'.length));
    }
    expect(sql).not.toMatch(/speed_layer/);
  });

  test.each(entries)('%s has no value written into its text but constants of the code', (_name, sql) => {
    const text = withoutPlaceholders(sql);
    expect(text).not.toMatch(/\$\{|%s|\?\?/);
    for (const [, literal] of text.matchAll(/'([^']*)'/g)) expect(LITERALS, `literal '${literal}'`).toContain(literal);
    // No bare numbers standing in for a range or limit either: time and limits come from parameters.
    expect(text).not.toMatch(/\b\d{4}-\d{2}-\d{2}\b/);
  });

  // recentUsers is always the last hour; sessionizerState reads the sessionizer's one state row.
  test.each(entries.filter(([name]) => name !== 'recentUsers' && name !== 'sessionizerState'))('%s takes the [from, to) range as parameters', (_name, sql) => {
    const names = braces(sql).map((b) => b.split(':')[0]);
    expect(names).toContain('from');
    expect(names).toContain('to');
  });

  test('the ordered funnel counts every step, in order, as "at least this far", from the current sessions', () => {
    expect(STEP_NUMBERS).toEqual(FUNNEL_STEPS.map((_, i) => i + 1));
    for (const sql of [QUERIES.funnel, QUERIES.funnelByTier]) {
      expect(sql).toContain(`[${FUNNEL_STEPS.map((_, i) => `countIf(funnel_step >= ${i + 1})`).join(', ')}]`);
      expect(sql).toContain(`funnel_step = ${FUNNEL_STEPS.length}`);
      expect(sql).toContain('{db}.session_funnel FINAL');
    }
  });

  test('sessions, whose rows are versioned, are read with FINAL', () => {
    for (const table of ['user_sessions_realtime', 'session_funnel']) {
      const readers = entries.filter(([, sql]) => sql.includes(`{db}.${table}`));
      expect(readers.length, table).toBeGreaterThan(0);
      for (const [name, sql] of readers) expect(sql, name).toContain(`{db}.${table} FINAL`);
    }
  });
});
