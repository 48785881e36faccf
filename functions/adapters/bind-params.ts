import { TupleParam } from '@clickhouse/client';

/**
 * Query parameters bound into the SQL as typed literals: `{name:Type}` becomes `CAST(<literal> AS Type)`.
 *
 * For the embedded engine only. chDB keeps parameter state per process, not per connection, so it
 * runs parameterized statements one at a time in the whole process (node_modules/chdb/index.js,
 * `globalParamChain`): the sessionizer's inbox read waited behind the dashboard's queries and they
 * behind it, whatever connection each used. A statement without parameters runs side by side with
 * the others. A ClickHouse server binds parameters itself and never sees this.
 *
 * Values are the ones the functions pass: strings (escaped, so a value cannot end its literal),
 * finite numbers, bigints, booleans, null, arrays of these and the client's TupleParam. Anything
 * else is refused.
 */
const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

export function bindParams(sql: string, params: Readonly<Record<string, unknown>>): string {
  return sql.replace(PARAM, (_whole, name: string, type: string) => {
    if (!Object.hasOwn(params, name)) throw new Error(`query parameter ${name} has no value`);
    return `CAST(${literal(params[name], name)} AS ${type})`;
  });
}

function literal(v: unknown, name: string): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`query parameter ${name}: ${v} is not a finite number`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'NULL';
  if (Array.isArray(v)) return `[${v.map((x) => literal(x, name)).join(', ')}]`;
  if (v instanceof TupleParam) return `(${v.values.map((x) => literal(x, name)).join(', ')})`;
  throw new Error(`query parameter ${name}: a ${typeof v} cannot be bound`);
}
