import type { Registry } from 'prom-client';

/**
 * Helpers for checking that alert rules and dashboards query only metrics the code exports.
 * A full PromQL parser is not on npm without pulling in a grammar runtime, and all we need is
 * the set of metric names, so a small tokenizer does: it skips strings, label matchers `{...}`,
 * ranges `[...]`, Grafana variables and numbers, and treats an identifier as a metric name
 * unless it calls something (`name(`) or is a keyword.
 */

// Binary-operator keywords, modifiers and literals. Aggregations are here too because they may
// be followed by `by (...)` instead of their argument (`sum by (job) (x)`).
const KEYWORDS = new Set([
  'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);

// Keywords whose parenthesised argument is a list of label names, not an expression.
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;

/** Index just past the string literal that starts at `start` (", ' or `), honouring escapes. */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' && quote !== '`' ? 2 : 1;
  return i + 1;
}

/** Index just past the bracket that closes the one at `start`; strings inside are skipped whole. */
function skipBalanced(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') { i = skipString(text, i); continue; }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

function skipSpace(text: string, start: number): number {
  let i = start;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/** The metric names a PromQL expression (possibly with Grafana variables) selects. */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') { i = skipString(expr, i); continue; }
    if (c === '#') { while (i < expr.length && expr[i] !== '\n') i++; continue; }
    // Label matchers hold label names and values, ranges hold durations: neither names a metric.
    if (c === '{') { i = skipBalanced(expr, i, '{', '}'); continue; }
    if (c === '[') { i = skipBalanced(expr, i, '[', ']'); continue; }
    if (c === '$') {
      // Grafana variables: $__rate_interval, $job, ${job}, ${job:regex}.
      i = expr[i + 1] === '{' ? skipBalanced(expr, i + 1, '{', '}') : i + 1;
      while (i < expr.length && IDENT_PART.test(expr[i]!)) i++;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      // Numbers and durations (0.99, 1e9, 0x1f, 5m, 1h30m) are consumed whole so `e9` or `m`
      // is never read as an identifier.
      while (i < expr.length && /[0-9A-Za-z_.]/.test(expr[i]!)) i++;
      continue;
    }
    if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < expr.length && IDENT_PART.test(expr[end]!)) end++;
      const ident = expr.slice(i, end);
      const next = skipSpace(expr, end);
      const lower = ident.toLowerCase();
      if (LABEL_LISTS.has(lower) && expr[next] === '(') {
        i = skipBalanced(expr, next, '(', ')');
        continue;
      }
      i = end;
      if (expr[next] === '(' || KEYWORDS.has(lower)) continue; // a function call or a keyword
      names.add(ident);
      continue;
    }
    i++;
  }
  return [...names];
}

/** Every name the registry exposes, with the series suffixes histograms and summaries add. */
export async function exportedSeriesNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>(['up']); // Prometheus adds `up` for every scraped target.
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(metric.name + s);
  }
  return names;
}

/** Metric names in `expr` that the exported set does not contain. */
export function unknownMetricNames(expr: string, exported: ReadonlySet<string>): string[] {
  return metricNamesIn(expr).filter((name) => !exported.has(name));
}

export interface RuleExpression {
  readonly line: number;
  readonly expr: string;
}

/**
 * The `expr:` values of a Prometheus rules file. Handles the two forms the file uses: an inline
 * (optionally quoted) value and a `|` / `>` block scalar. No YAML library is a dependency of the
 * project, and the file's shape is ours, so this stays deliberately narrow; the caller checks the
 * count against the number of rules so a missed expression cannot pass silently.
 */
export function ruleExpressions(yamlText: string): RuleExpression[] {
  const lines = yamlText.split('\n');
  const found: RuleExpression[] = [];
  for (let k = 0; k < lines.length; k++) {
    const match = /^(\s*)(- )?expr:\s*(.*)$/.exec(lines[k]!);
    if (!match) continue;
    const keyIndent = match[1]!.length + (match[2] ? 2 : 0);
    const rest = match[3]!.trim();
    if (/^[|>][-+]?$/.test(rest)) {
      const body: string[] = [];
      for (let j = k + 1; j < lines.length; j++) {
        const line = lines[j]!;
        const indent = line.length - line.trimStart().length;
        if (line.trim() !== '' && indent <= keyIndent) break;
        body.push(line);
      }
      found.push({ line: k + 1, expr: body.join('\n').trim() });
    } else {
      found.push({ line: k + 1, expr: unquote(rest) });
    }
  }
  return found;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return JSON.parse(value) as string;
  return value;
}
