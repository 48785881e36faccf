// Query parameters bound as typed literals for the embedded engine (functions/adapters/bind-params.ts).
import { describe, expect, test } from 'vitest';
import { TupleParam } from '@clickhouse/client';
import { bindParams } from '../../functions/adapters/bind-params.js';

describe('bindParams', () => {
  test('each {name:Type} becomes a CAST of its value to that type', () => {
    expect(bindParams(`SELECT 1 WHERE t > {since:DateTime64(3, 'UTC')} LIMIT {limit:UInt32}`, { since: '2026-12-07 05:00:00.000', limit: 10 }))
      .toBe(`SELECT 1 WHERE t > CAST('2026-12-07 05:00:00.000' AS DateTime64(3, 'UTC')) LIMIT CAST(10 AS UInt32)`);
  });

  test('arrays, bigints, booleans and null', () => {
    expect(bindParams('{a:Array(Int64)} {e:Array(UUID)} {b:UInt64} {c:Bool} {n:Nullable(String)}', { a: [1, -2], e: [], b: 2n ** 63n, c: true, n: null }))
      .toBe(`CAST([1, -2] AS Array(Int64)) CAST([] AS Array(UUID)) CAST(9223372036854775808 AS UInt64) CAST(true AS Bool) CAST(NULL AS Nullable(String))`);
  });

  test("the client's TupleParam, alone or in an array", () => {
    expect(bindParams('{t:Array(Tuple(UInt64, Int64))}', { t: [new TupleParam([7, 1_796_623_867_969])] }))
      .toBe('CAST([(7, 1796623867969)] AS Array(Tuple(UInt64, Int64)))');
  });

  test.each([
    [`x' OR 1=1 --`, `'x\\' OR 1=1 --'`],
    [`back\\slash\\' ; DROP TABLE t`, `'back\\\\slash\\\\\\' ; DROP TABLE t'`],
  ])('a string cannot end its literal: %s', (value, literal) => {
    expect(bindParams('{s:String}', { s: value })).toBe(`CAST(${literal} AS String)`);
  });

  test('a missing value, a non-finite number or an object is refused, naming the parameter', () => {
    expect(() => bindParams('{x:UInt8}', {})).toThrow(/x has no value/);
    expect(() => bindParams('{x:Float64}', { x: Number.NaN })).toThrow(/x: NaN/);
    expect(() => bindParams('{x:String}', { x: { a: 1 } })).toThrow(/x: a object/);
  });

  test('text without parameters is left as it is', () => {
    expect(bindParams(`SELECT '{not a param}', {db}`, {})).toBe(`SELECT '{not a param}', {db}`);
  });
});
