/**
 * Prometheus text from the system under test's /metrics, reduced to what the bench reads: each
 * histogram's cumulative buckets, sum and count, and each other series' value, summed over labels.
 * Quantiles come from the difference of two scrapes (what happened between them), interpolated
 * inside a bucket as PromQL's histogram_quantile does. A metric that is absent gives null.
 */
export type Histogram = { buckets: [number, number][]; sum: number; count: number };
export type Scrape = { atMs: number; histograms: Map<string, Histogram>; values: Map<string, number> };

export function parseScrape(text: string, atMs = Date.now()): Scrape {
  const histograms = new Map<string, Histogram>();
  const values = new Map<string, number>();
  const hist = (name: string) => histograms.get(name) ?? histograms.set(name, { buckets: [], sum: 0, count: 0 }).get(name)!;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, name, labels = '', raw] = m;
    const v = Number(raw);
    if (!Number.isFinite(v) && raw !== '+Inf') continue;
    if (name!.endsWith('_bucket')) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const h = hist(name!.slice(0, -7));
      const bound = le === '+Inf' ? Infinity : Number(le);
      // Labelled histograms (one per label set) add up bucket by bucket.
      const b = h.buckets.find((x) => x[0] === bound);
      if (b) b[1] += v; else h.buckets.push([bound, v]);
    } else if (name!.endsWith('_sum') && histograms.has(name!.slice(0, -4))) {
      hist(name!.slice(0, -4)).sum += v;
    } else if (name!.endsWith('_count') && histograms.has(name!.slice(0, -6))) {
      hist(name!.slice(0, -6)).count += v;
    } else {
      values.set(name!, (values.get(name!) ?? 0) + v);
    }
  }
  for (const h of histograms.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return { atMs, histograms, values };
}

/** What `name` observed between two scrapes (b after a); a missing `a` counts from zero. */
export function histogramDelta(a: Scrape | undefined, b: Scrape | undefined, name: string): Histogram | null {
  const hb = b?.histograms.get(name);
  if (!hb) return null;
  const ha = a?.histograms.get(name);
  const before = new Map(ha?.buckets ?? []);
  return {
    buckets: hb.buckets.map(([le, n]) => [le, Math.max(0, n - (before.get(le) ?? 0))]),
    sum: hb.sum - (ha?.sum ?? 0),
    count: hb.count - (ha?.count ?? 0),
  };
}

/** The q-quantile of a histogram (linear inside the bucket it falls in); null when it saw nothing. */
export function histogramQuantile(h: Histogram | null, q: number): number | null {
  if (!h || h.buckets.length === 0) return null;
  const total = h.buckets[h.buckets.length - 1]![1];
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0, prevN = 0;
  for (const [le, n] of h.buckets) {
    if (n >= rank) {
      // Past the last finite bound there is nothing to interpolate to: answer that bound, as PromQL does.
      if (le === Infinity) return prevLe;
      return n === prevN ? le : prevLe + ((le - prevLe) * (rank - prevN)) / (n - prevN);
    }
    prevLe = le; prevN = n;
  }
  return prevLe;
}

/** p50 and p99 (seconds, 3 decimals) of what `name` observed between two scrapes, and how many observations. */
export function quantilesBetween(a: Scrape | undefined, b: Scrape | undefined, name: string) {
  const d = histogramDelta(a, b, name);
  const r = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  return { p50: r(histogramQuantile(d, 0.5)), p99: r(histogramQuantile(d, 0.99)), count: d ? d.count : null, sum: d ? Math.round(d.sum * 1000) / 1000 : null };
}

export const valueOf = (s: Scrape | undefined, name: string): number | null => s?.values.get(name) ?? null;
