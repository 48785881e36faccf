/**
 * Every SQL statement is parameterized: a static check, with the TypeScript compiler, of every call
 * that hands SQL to ClickHouse (@clickhouse/client `query`, `command`, `exec`, `insert`) or to
 * PostgreSQL (pg `Pool`/`Client` `query`) in functions/, scripts/, generator/ and local/.
 *
 * A call is found by the declaration of the method it calls (a file of @clickhouse/* or pg), not by
 * the receiver's name, so a wrapper or a renamed client is found too. Its SQL (the `query` / `table`
 * of the options, the first argument of pg's `query`) must be built only from:
 *   - string literals and templates whose substitutions are themselves built this way;
 *   - `const`s (also imported ones, and properties of `const` objects such as QUERIES[name] or
 *     SESSIONIZER_QUERIES.state) whose initializers are built this way;
 *   - parameters of local helpers (e.g. the sessionizer's `query(sql, params)`) whose every call
 *     site passes such a value, and elements of literal arrays (`TIERS.map((t) => ...)`);
 *   - the identifiers of ALLOW below: names that come from validated configuration or from the
 *     repository, never from a request.
 * Anything else (a request value, a function argument from elsewhere, a row field) is reported, so
 * values have to go through `query_params` ({name:Type}) or `$n`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const SCANNED = ['functions', 'scripts', 'generator', 'local'];

/**
 * Identifiers that may be substituted into SQL text, by file: each is a name, not a value, and none
 * can come from a request. Every entry must be used (a stale entry fails the test).
 */
const ALLOW: { file: string; expr: string; why: string }[] = [
  { file: 'functions/analytics/app.ts', expr: 'config.CLICKHOUSE_DATABASE', why: 'database name from config, pattern ^[A-Za-z_][A-Za-z0-9_]*$' },
  { file: 'functions/sessionizer/store.ts', expr: 'db', why: 'opts.CLICKHOUSE_DATABASE, validated by config' },
  { file: 'functions/sessionizer/store.ts', expr: 'table', why: 'a SessionTable: a literal union of the sessionizer\'s own tables' },
  { file: 'functions/adapters/batch-writer.ts', expr: 'opts.database', why: 'CLICKHOUSE_DATABASE, validated by config' },
  { file: 'functions/adapters/batch-writer.ts', expr: 'table', why: 'a key of the batch: the table names the ingest pipeline writes (literal object keys) or dead_letter_events' },
  { file: 'functions/adapters/tier-source.ts', expr: 'table', why: 'USERS_TABLE, pattern ^ident(.ident)?$ in config' },
  { file: 'functions/adapters/tier-source.ts', expr: 'schema', why: 'the schema part of USERS_TABLE (same pattern)' },
  { file: 'functions/adapters/migrations.ts', expr: 'sql', why: 'the text of a tracked file of sql/, {db} filled in from validated config' },
];

const CH_METHODS = new Set(['query', 'command', 'exec', 'insert']);
/** Pure string/array methods: static receiver and arguments give a static result. */
const PURE_METHODS = new Set(['replaceAll', 'replace', 'join', 'trim', 'trimStart', 'trimEnd', 'toUpperCase', 'toLowerCase', 'map', 'flatMap', 'filter', 'slice', 'concat', 'padStart', 'padEnd', 'repeat', 'toString', 'split']);
const ELEMENT_CALLBACKS = new Set(['map', 'flatMap', 'filter', 'forEach', 'some', 'every', 'find']);

export interface Sink { file: string; line: number; kind: 'clickhouse' | 'pg'; text: string }
export interface Finding { file: string; line: number; call: string; problem: string }

function sourceFiles(dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (f === 'node_modules') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) out.push(p);
    }
  };
  for (const d of dirs) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return out;
}

/**
 * Checks the given files (paths under ROOT; `overlay` adds or replaces files in memory, for the
 * self-test). Answers the SQL call sites found and the problems.
 */
export function checkSql(files: string[], overlay: Record<string, string> = {}, allow = ALLOW) {
  const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, ROOT);
  const host = ts.createCompilerHost(cfg.options);
  const abs = (f: string) => resolve(ROOT, f);
  const virtual = new Map(Object.entries(overlay).map(([f, text]) => [abs(f), text]));
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (virtual.has(resolve(f)) ? ts.createSourceFile(f, virtual.get(resolve(f))!, lang, true) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => virtual.has(resolve(f)) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(resolve(f)) ?? readFile.call(host, f);
  const roots = [...new Set([...files.map(abs), ...virtual.keys()])];
  const program = ts.createProgram(roots, { ...cfg.options, noEmit: true }, host);
  const checker = program.getTypeChecker();
  const ours = program.getSourceFiles().filter((s) => roots.includes(resolve(s.fileName)));
  const rel = (n: ts.Node) => relative(ROOT, n.getSourceFile().fileName);
  const line = (n: ts.Node) => n.getSourceFile().getLineAndCharacterOfPosition(n.getStart()).line + 1;
  const usedAllow = new Set<(typeof ALLOW)[number]>();

  const sinks: Sink[] = [];
  const findings: Finding[] = [];

  // Every call expression of the program's own files, by the symbol of its callee, for the
  // "every call site of this helper passes a static value" rule.
  const callsOf = new Map<ts.Symbol, ts.CallExpression[]>();
  const allCalls: ts.CallExpression[] = [];
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || sf.fileName.includes('/node_modules/')) continue;
    const visit = (n: ts.Node) => {
      if (ts.isCallExpression(n)) {
        allCalls.push(n);
        const s = symbolOf(n.expression);
        if (s) (callsOf.get(s) ?? callsOf.set(s, []).get(s)!).push(n);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }

  function symbolOf(n: ts.Node): ts.Symbol | undefined {
    let s = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(n) ? n.name : n);
    if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
    return s;
  }

  function unwrap(e: ts.Expression): ts.Expression {
    while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
    return e;
  }

  /** Which library a called method is declared in, if it speaks SQL. */
  function sinkKind(call: ts.CallExpression): Sink['kind'] | undefined {
    if (!ts.isPropertyAccessExpression(call.expression)) return undefined;
    const name = call.expression.name.text;
    if (!CH_METHODS.has(name)) return undefined;
    const decls = checker.getSymbolAtLocation(call.expression.name)?.declarations ?? [];
    for (const d of decls) {
      const f = d.getSourceFile().fileName;
      if (/node_modules\/(@clickhouse\/|chdb\/)/.test(f)) return 'clickhouse';
      if (/node_modules\/(@types\/pg|pg)\//.test(f) && name === 'query') return 'pg';
    }
    return undefined;
  }

  function allowed(e: ts.Expression): boolean {
    const hit = allow.find((a) => a.file === rel(e) && a.expr === e.getText());
    if (hit) usedAllow.add(hit);
    return !!hit;
  }

  /** Problems with `e` as SQL text (empty: it is built only from literals and allowed names). */
  function staticProblems(e0: ts.Expression, seen: Set<ts.Node>): string[] {
    const e = unwrap(e0);
    if (allowed(e)) return [];
    if (seen.has(e)) return [];
    seen.add(e);
    const all = (xs: readonly ts.Expression[]) => xs.flatMap((x) => staticProblems(x, seen));
    const bad = (why: string) => [`${rel(e)}:${line(e)} ${why}: ${e.getText().slice(0, 80)}`];

    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) || ts.isNumericLiteral(e)) return [];
    if (e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword) return [];
    if (ts.isTemplateExpression(e)) return all(e.templateSpans.map((s) => s.expression));
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return all([e.left, e.right]);
    if (ts.isConditionalExpression(e)) return all([e.whenTrue, e.whenFalse]);
    if (ts.isArrayLiteralExpression(e)) return all(e.elements.filter(ts.isExpression));
    if (ts.isObjectLiteralExpression(e)) {
      return e.properties.flatMap((p) => (ts.isPropertyAssignment(p) ? staticProblems(p.initializer, seen) : ts.isShorthandPropertyAssignment(p) ? identifierProblems(p.name, seen) : bad('object member')));
    }
    if (ts.isIdentifier(e)) return identifierProblems(e, seen);
    if (ts.isPropertyAccessExpression(e)) {
      if (e.name.text === 'length') return staticProblems(e.expression, seen);
      return declarationProblems(checker.getSymbolAtLocation(e.name), e, seen);
    }
    if (ts.isElementAccessExpression(e)) {
      const key = unwrap(e.argumentExpression);
      if (ts.isStringLiteral(key) || ts.isNumericLiteral(key)) return declarationProblems(checker.getSymbolAtLocation(e), e, seen);
      // Any key of a constant object or array: every value must be static.
      return staticProblems(e.expression, seen);
    }
    if (ts.isCallExpression(e)) {
      const callee = unwrap(e.expression);
      if (ts.isPropertyAccessExpression(callee) && PURE_METHODS.has(callee.name.text)) {
        return [...staticProblems(callee.expression, seen), ...e.arguments.flatMap((a) => (ts.isArrowFunction(a) || ts.isFunctionExpression(a) ? returnProblems(a, seen) : staticProblems(a, seen)))];
      }
      if (ts.isIdentifier(callee) && (callee.text === 'String' || callee.text === 'Number')) return all(e.arguments);
      // A local helper: what it returns must be static (its parameters are checked at every call).
      const fn = functionOf(symbolOf(callee));
      if (fn) return returnProblems(fn, seen);
      return bad('call of an unknown function');
    }
    return bad(`not a literal (${ts.SyntaxKind[e.kind]})`);
  }

  function functionOf(s: ts.Symbol | undefined): ts.FunctionLikeDeclaration | undefined {
    for (const d of s?.declarations ?? []) {
      if (ts.isFunctionDeclaration(d) && d.body) return d;
      if (ts.isVariableDeclaration(d) && d.initializer) {
        const init = unwrap(d.initializer);
        if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init;
      }
    }
    return undefined;
  }

  function returnProblems(fn: ts.FunctionLikeDeclaration, seen: Set<ts.Node>): string[] {
    if (!fn.body) return [`${rel(fn)}:${line(fn)} function without a body`];
    if (!ts.isBlock(fn.body)) return staticProblems(fn.body, seen);
    const out: string[] = [];
    const visit = (n: ts.Node) => {
      if (ts.isReturnStatement(n) && n.expression) out.push(...staticProblems(n.expression, seen));
      if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
    };
    ts.forEachChild(fn.body, visit);
    return out;
  }

  function identifierProblems(id: ts.Identifier, seen: Set<ts.Node>): string[] {
    if (allowed(id)) return [];
    const s = ts.isShorthandPropertyAssignment(id.parent) ? checker.getShorthandAssignmentValueSymbol(id.parent) : checker.getSymbolAtLocation(id);
    return declarationProblems(s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s, id, seen);
  }

  function declarationProblems(s: ts.Symbol | undefined, at: ts.Expression, seen: Set<ts.Node>): string[] {
    const bad = (why: string) => [`${rel(at)}:${line(at)} ${why}: ${at.getText().slice(0, 80)}`];
    const d = s?.valueDeclaration ?? s?.declarations?.[0];
    if (!d) return bad('unresolved name');
    if (d.getSourceFile().fileName.includes('/node_modules/')) return bad('a value from a library');
    if (ts.isVariableDeclaration(d)) {
      const isConst = (ts.getCombinedNodeFlags(d) & ts.NodeFlags.Const) !== 0;
      if (!isConst || !d.initializer || !ts.isIdentifier(d.name)) return bad('not a const with a literal initializer');
      return staticProblems(d.initializer, seen);
    }
    if (ts.isPropertyAssignment(d)) return staticProblems(d.initializer, seen);
    if (ts.isShorthandPropertyAssignment(d)) return identifierProblems(d.name, seen);
    if (ts.isEnumMember(d)) return [];
    if (ts.isParameter(d)) return parameterProblems(d, at, seen);
    return bad(`a ${ts.SyntaxKind[d.kind]}, not a constant`);
  }

  /** A parameter is static when every caller passes a static value (or it walks a literal array). */
  function parameterProblems(p: ts.ParameterDeclaration, at: ts.Expression, seen: Set<ts.Node>): string[] {
    const fn = p.parent;
    const index = fn.parameters.indexOf(p);
    const bad = (why: string) => [`${rel(at)}:${line(at)} ${why}: ${at.getText().slice(0, 80)}`];
    // `xs.map((x) => ...)` over a static array: x is one of its elements.
    const call = ts.isCallExpression(fn.parent) && fn.parent.arguments.includes(fn as ts.Expression) ? fn.parent : undefined;
    if (call && ts.isPropertyAccessExpression(call.expression) && ELEMENT_CALLBACKS.has(call.expression.name.text)) {
      return index === 0 ? staticProblems(call.expression.expression, seen) : bad('callback parameter');
    }
    let s: ts.Symbol | undefined;
    if (ts.isFunctionDeclaration(fn) && fn.name) s = checker.getSymbolAtLocation(fn.name);
    else if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn))) {
      let up: ts.Node = fn.parent;
      while (ts.isParenthesizedExpression(up) || ts.isAsExpression(up)) up = up.parent;
      if (ts.isVariableDeclaration(up) && ts.isIdentifier(up.name)) s = checker.getSymbolAtLocation(up.name);
    }
    if (!s) return bad(`parameter "${p.name.getText()}" of a function whose callers are unknown`);
    if (p.dotDotDotToken) return bad('rest parameter');
    const calls = callsOf.get(s) ?? [];
    if (calls.length === 0) return bad(`parameter "${p.name.getText()}" of a function that is never called here`);
    return calls.flatMap((c) => (c.arguments[index] ? staticProblems(c.arguments[index]!, seen) : p.initializer ? staticProblems(p.initializer, seen) : []));
  }

  /** The options object of a call forwarded whole by `x.query = (params) => y.query(params)`. */
  function isForwarder(arg: ts.Expression, method: string): boolean {
    const s = ts.isIdentifier(arg) ? checker.getSymbolAtLocation(arg) : undefined;
    const p = s?.valueDeclaration;
    if (!p || !ts.isParameter(p)) return false;
    let up: ts.Node = p.parent.parent;
    while (ts.isParenthesizedExpression(up) || ts.isAsExpression(up)) up = up.parent;
    return ts.isBinaryExpression(up) && up.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(up.left) && up.left.name.text === method;
  }

  for (const call of allCalls) {
    if (!ours.includes(call.getSourceFile())) continue;
    const kind = sinkKind(call);
    if (!kind) continue;
    const method = (call.expression as ts.PropertyAccessExpression).name.text;
    sinks.push({ file: rel(call), line: line(call), kind, text: call.getText().slice(0, 120) });
    const report = (problem: string) => findings.push({ file: rel(call), line: line(call), call: call.getText().slice(0, 120), problem });
    const arg = call.arguments[0] ? unwrap(call.arguments[0]) : undefined;
    if (!arg) { report('no arguments'); continue; }
    let sql: ts.Expression | undefined;
    if (kind === 'pg') {
      if (ts.isObjectLiteralExpression(arg)) {
        const text = arg.properties.find((p) => p.name?.getText() === 'text');
        sql = text && ts.isPropertyAssignment(text) ? text.initializer : undefined;
      } else sql = arg;
    } else {
      if (isForwarder(arg, method)) continue; // the callers are sinks themselves
      if (!ts.isObjectLiteralExpression(arg)) { report(`the options are not an object literal: ${arg.getText()}`); continue; }
      const key = method === 'insert' ? 'table' : 'query';
      const prop = arg.properties.find((p) => p.name?.getText() === key);
      if (prop && ts.isShorthandPropertyAssignment(prop)) sql = prop.name;
      else sql = prop && ts.isPropertyAssignment(prop) ? prop.initializer : undefined;
    }
    if (!sql) { report('no SQL argument found'); continue; }
    for (const problem of new Set(staticProblems(sql, new Set()))) report(problem);
  }

  const unusedAllow = allow.filter((a) => !usedAllow.has(a) && ours.some((s) => relative(ROOT, s.fileName) === a.file));
  return { sinks, findings, unusedAllow };
}

const FILES = sourceFiles(SCANNED).map((f) => relative(ROOT, f));

describe('every SQL statement is parameterized', () => {
  const result = checkSql(FILES);

  it('finds the SQL call sites (ClickHouse and PostgreSQL) of the functions', () => {
    const files = [...new Set(result.sinks.map((s) => `${s.kind} ${s.file}`))].sort();
    expect(files).toEqual(expect.arrayContaining([
      'clickhouse functions/adapters/batch-writer.ts',
      'clickhouse functions/adapters/clickhouse.ts',
      'clickhouse functions/adapters/migrations.ts',
      'clickhouse functions/analytics/app.ts',
      'clickhouse functions/sessionizer/store.ts',
      'pg functions/adapters/tier-source.ts',
    ]));
    expect(result.sinks.length).toBeGreaterThanOrEqual(12);
  });

  it('builds SQL only from literals, constant queries and allowed names: values go through query_params / $n', () => {
    expect(result.findings).toEqual([]);
  });

  it('every allowlisted name is still used (no stale entries)', () => {
    expect(result.unusedAllow).toEqual([]);
  });

  it('the allowlisted names are validated identifiers: config refuses anything else', () => {
    for (const bad of ["users; DROP TABLE users", "users WHERE 1=1", "a.b.c", "u'"]) expect(() => loadConfig({ USERS_TABLE: bad }), bad).toThrow(/USERS_TABLE/);
    for (const bad of ["speed_layer; DROP DATABASE x", "db.x", "x`", "1db"]) expect(() => loadConfig({ CLICKHOUSE_DATABASE: bad }), bad).toThrow(/CLICKHOUSE_DATABASE/);
    expect(loadConfig({ USERS_TABLE: 'public.users', CLICKHOUSE_DATABASE: 'speed_layer' })).toMatchObject({ USERS_TABLE: 'public.users' });
  });

  it('the migrations read only tracked files of sql/, and {db} is their only placeholder', () => {
    const dir = join(ROOT, 'sql');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.sql'))) {
      const text = readFileSync(join(dir, f), 'utf8').replace(/--[^\n]*/g, '');
      expect([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((n) => n !== 'db'), f).toEqual([]);
    }
  });

  it('only config.ts reads process.env in functions/ (the mains hand it to loadConfig whole)', () => {
    const readers = FILES.filter((f) => f.startsWith('functions/') && /process\.env\b/.test(readFileSync(join(ROOT, f), 'utf8').replaceAll('loadConfig(process.env,', '')));
    expect(readers).toEqual(['functions/core/config.ts']);
  });
});

describe('the checker fails on string-built SQL (it is not a no-op)', () => {
  const SNIPPET = 'test/unit/__sql_safety_snippet__.ts';
  const run = (body: string) => checkSql([], {
    [SNIPPET]: `import type { ClickHouseClient } from '@clickhouse/client';\nimport type pg from 'pg';\n` +
      `const QUERIES = { byId: 'SELECT * FROM {db}.t WHERE id = {id:UUID}' } as const;\n` +
      `export async function f(ch: ClickHouseClient, pool: pg.Pool, id: string, name: keyof typeof QUERIES, db: string) {\n${body}\n}\n`,
  }, []);

  it.each([
    ['ClickHouse query with a value in the text', "await ch.query({ query: `SELECT * FROM t WHERE id = '${id}'` });"],
    ['ClickHouse query concatenated', "await ch.query({ query: 'SELECT * FROM t WHERE id = ' + id });"],
    ['ClickHouse command', "await ch.command({ query: `ALTER TABLE t DELETE WHERE id = '${id}'` });"],
    ['ClickHouse exec', "await ch.exec({ query: `SELECT ${id}` });"],
    ['ClickHouse insert into a table named by input', "await ch.insert({ table: `t_${id}`, values: [], format: 'JSONEachRow' });"],
    ['a const built from input', "const sql = `SELECT * FROM t WHERE id = '${id}'`; await ch.query({ query: sql });"],
    ['a let', "let sql = 'SELECT 1'; sql += id; await ch.query({ query: sql });"],
    ['replaceAll with input', "await ch.query({ query: QUERIES[name].replaceAll('{db}', db) });"],
    ['a helper called with input', "const q = (s: string) => ch.query({ query: s }); await q('SELECT 1'); await q(`SELECT ${id}`);"],
    ['pg query with a value in the text', "await pool.query(`SELECT tier FROM users WHERE user_id = '${id}'`);"],
    ['pg query config object', "await pool.query({ text: 'SELECT tier FROM users WHERE user_id = ' + id });"],
    ['pg client from the pool', "const c = await pool.connect(); await c.query(`DELETE FROM users WHERE user_id = '${id}'`);"],
  ])('%s is flagged', (_, body) => {
    const r = run(body);
    expect(r.sinks.length).toBeGreaterThan(0);
    expect(r.findings.length).toBeGreaterThan(0);
  });

  it('a value spliced into the real code is caught (tier-source.ts and the analytics queries, edited in memory)', () => {
    const tier = readFileSync(join(ROOT, 'functions/adapters/tier-source.ts'), 'utf8');
    const spliced = tier.replace('WHERE user_id = ANY($1::uuid[])`, [userIds]', "WHERE user_id IN ('${userIds.join(\"','\")}')`");
    expect(spliced).not.toBe(tier);
    const r1 = checkSql(['functions/adapters/tier-source.ts'], { 'functions/adapters/tier-source.ts': spliced });
    expect(r1.findings.map((f) => f.file)).toEqual(['functions/adapters/tier-source.ts']);

    const queries = readFileSync(join(ROOT, 'functions/analytics/queries.ts'), 'utf8');
    const withValue = queries.replace('export const QUERIES = {', 'let reason = "";\nexport const setReason = (r: string) => { reason = r; };\nexport const QUERIES = {\n  injected: `SELECT * FROM {db}.dead_letter_events WHERE reason = \'${reason}\'`,');
    expect(withValue).not.toBe(queries);
    const r2 = checkSql(['functions/analytics/app.ts'], { 'functions/analytics/queries.ts': withValue });
    expect(r2.findings.some((f) => f.file === 'functions/analytics/app.ts' && /reason/.test(f.problem))).toBe(true);
  });

  it.each([
    ['literal with query_params', "await ch.query({ query: 'SELECT * FROM t WHERE id = {id:UUID}', query_params: { id } });"],
    ['a constant query by any key', "await ch.query({ query: QUERIES[name], query_params: { id } });"],
    ['a helper called with constants only', "const q = (s: string) => ch.query({ query: s, query_params: { id } }); await q(QUERIES.byId); await q('SELECT 1');"],
    ['pg with $1', "await pool.query('SELECT tier FROM users WHERE user_id = $1', [id]);"],
    ['a template over a literal array', "const T = ['a', 'b'] as const; await pool.query(`SELECT 1 WHERE x IN (${T.map((t) => `'${t}'`).join(', ')})`);"],
  ])('%s passes', (_, body) => {
    const r = run(body);
    expect(r.sinks.length).toBeGreaterThan(0);
    expect(r.findings).toEqual([]);
  });
});
