import { describe, expect, it } from 'vitest';
import { histogramDelta, histogramQuantile, parseScrape, quantilesBetween, valueOf } from '../../../bench/prom.js';

const scrape = (counts: number[], sum: number, extra = '') => parseScrape(`# HELP speed_layer_session_freshness_seconds x
# TYPE speed_layer_session_freshness_seconds histogram
${[1, 2, 5].map((le, i) => `speed_layer_session_freshness_seconds_bucket{le="${le}"} ${counts[i]}`).join('\n')}
speed_layer_session_freshness_seconds_bucket{le="+Inf"} ${counts[3]}
speed_layer_session_freshness_seconds_sum ${sum}
speed_layer_session_freshness_seconds_count ${counts[3]}
speed_layer_open_sessions 12
${extra}`);

describe('bench prom: histogram quantiles from two scrapes', () => {
  it('interpolates inside the bucket of the delta, as histogram_quantile does', () => {
    const a = scrape([10, 10, 10, 10], 5);
    const b = scrape([10, 60, 110, 110], 305);
    const d = histogramDelta(a, b, 'speed_layer_session_freshness_seconds')!;
    expect(d.count).toBe(100);
    expect(d.sum).toBe(300);
    // 50 of the 100 new observations in (1, 2], 50 in (2, 5]: the median is the top of (1, 2].
    expect(histogramQuantile(d, 0.5)).toBeCloseTo(2, 6);
    expect(histogramQuantile(d, 0.99)).toBeCloseTo(2 + (3 * 49) / 50, 6);
    expect(histogramQuantile(d, 0.25)).toBeCloseTo(1.5, 6);
  });

  it('answers the last finite bound when the quantile falls past it', () => {
    const d = histogramDelta(undefined, scrape([0, 0, 1, 100], 0), 'speed_layer_session_freshness_seconds');
    expect(histogramQuantile(d, 0.99)).toBe(5);
  });

  it('adds labelled series up and reads plain values', () => {
    const s = parseScrape('x_bucket{a="1",le="1"} 2\nx_bucket{a="2",le="1"} 3\nx_bucket{a="1",le="+Inf"} 2\nx_bucket{a="2",le="+Inf"} 4\nx_sum 1\nx_count 6\ng{k="1"} 2\ng{k="2"} 3\n');
    expect(s.histograms.get('x')!.buckets).toEqual([[1, 5], [Infinity, 6]]);
    expect(valueOf(s, 'g')).toBe(5);
  });

  it('gives null, not a crash, for a metric that is missing or saw nothing', () => {
    const empty = parseScrape('');
    expect(quantilesBetween(empty, empty, 'speed_layer_sessionizer_run_duration_seconds')).toEqual({ p50: null, p99: null, count: null, sum: null });
    const same = scrape([1, 1, 1, 1], 1);
    expect(quantilesBetween(same, same, 'speed_layer_session_freshness_seconds').p99).toBeNull();
    expect(valueOf(empty, 'speed_layer_open_sessions')).toBeNull();
    expect(valueOf(same, 'speed_layer_open_sessions')).toBe(12);
  });
});
