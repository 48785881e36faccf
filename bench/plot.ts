import { writeFile } from 'node:fs/promises';

/**
 * The run's plot: stacked panels sharing the time axis, drawn as SVG by hand (no chart library
 * needed offline) and turned into PNG by headless Chromium (Debian's, through playwright-core).
 */
export type Line = { label: string; points: [number, number][]; color: string; dashed?: boolean; step?: boolean; axis?: 'left' | 'right'; dots?: boolean };
export type Panel = { title: string; unit: string; rightUnit?: string; lines: Line[]; hlines?: { y: number; label: string; color: string }[] };
export type Plot = { title: string; subtitle: string[]; panels: Panel[]; xMax: number; shade?: { from: number; to: number; label: string }[]; xUnit?: string };

const W = 1200, PANEL_H = 250, GAP = 70, LEFT = 80, RIGHT = 80;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
const fmt = (v: number) => (Math.abs(v) >= 10_000 ? `${(v / 1000).toFixed(0)}k` : Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 100) / 100));

export function renderSvg(p: Plot): string {
  const TOP = 50 + 16 * p.subtitle.length + GAP - 20;
  const H = TOP + p.panels.length * (PANEL_H + GAP) + 20;
  const plotW = W - LEFT - RIGHT;
  const x = (t: number) => LEFT + (t / Math.max(1, p.xMax)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${LEFT}" y="28" font-size="18" font-weight="bold">${esc(p.title)}</text>`,
    ...p.subtitle.map((line, i) => `<text x="${LEFT}" y="${50 + 16 * i}" font-size="12" fill="#555">${esc(line)}</text>`),
  ];
  p.panels.forEach((panel, i) => {
    const y0 = TOP + i * (PANEL_H + GAP);
    const yOf = (max: number) => (v: number) => y0 + PANEL_H - (Math.min(v, max) / max) * PANEL_H;
    const leftMax = niceMax(Math.max(...panel.lines.filter((l) => l.axis !== 'right').flatMap((l) => l.points.map((q) => q[1])), ...(panel.hlines ?? []).map((h) => h.y * 1.1), 0));
    // The right axis counts replicas: whole numbers, 4 ticks.
    const rightMax = Math.max(4, Math.ceil((Math.max(...panel.lines.filter((l) => l.axis === 'right').flatMap((l) => l.points.map((q) => q[1])), 0) * 1.1) / 4) * 4);
    for (const s of p.shade ?? []) out.push(`<rect x="${x(s.from)}" y="${y0}" width="${x(s.to) - x(s.from)}" height="${PANEL_H}" fill="#f0f0f0"/>`, `<text x="${x(s.from) + 4}" y="${y0 + 14}" font-size="11" fill="#888">${esc(s.label)}</text>`);
    out.push(`<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${LEFT}" y="${y0 - 30}" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (leftMax * k) / 4;
      const y = yOf(leftMax)(v);
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`, `<text x="${LEFT - 6}" y="${y + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`);
      if (panel.lines.some((l) => l.axis === 'right')) out.push(`<text x="${LEFT + plotW + 6}" y="${y + 4}" font-size="11">${fmt((rightMax * k) / 4)}</text>`);
    }
    out.push(`<text x="${LEFT - 50}" y="${y0 + PANEL_H / 2}" font-size="11" transform="rotate(-90 ${LEFT - 50} ${y0 + PANEL_H / 2})" text-anchor="middle">${esc(panel.unit)}</text>`);
    if (panel.rightUnit) out.push(`<text x="${LEFT + plotW + 50}" y="${y0 + PANEL_H / 2}" font-size="11" transform="rotate(90 ${LEFT + plotW + 50} ${y0 + PANEL_H / 2})" text-anchor="middle">${esc(panel.rightUnit)}</text>`);
    const step = niceMax(p.xMax / 10);
    for (let t = 0; t <= p.xMax; t += step) out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y0 + PANEL_H}" y2="${y0 + PANEL_H + 4}" stroke="#999"/>`, `<text x="${x(t)}" y="${y0 + PANEL_H + 16}" font-size="11" text-anchor="middle">${t}${p.xUnit ?? 's'}</text>`);
    for (const h of panel.hlines ?? []) {
      const y = yOf(leftMax)(h.y);
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y}" y2="${y}" stroke="${h.color}" stroke-dasharray="2 4"/>`, `<text x="${LEFT + plotW - 4}" y="${y - 4}" font-size="11" text-anchor="end" fill="${h.color}">${esc(h.label)}</text>`);
    }
    let legendX = LEFT;
    for (const line of panel.lines) {
      const y = yOf(line.axis === 'right' ? rightMax : leftMax);
      const pts = [...line.points].sort((a, b) => a[0] - b[0]);
      if (line.dots) {
        for (const [t, v] of pts) out.push(`<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${line.color}"/>`);
      } else if (pts.length) {
        let d = `M${x(pts[0]![0]).toFixed(1)},${y(pts[0]![1]).toFixed(1)}`;
        for (let k = 1; k < pts.length; k++) {
          if (line.step) d += ` H${x(pts[k]![0]).toFixed(1)}`;
          d += ` L${x(pts[k]![0]).toFixed(1)},${y(pts[k]![1]).toFixed(1)}`;
        }
        out.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="1.6"${line.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      }
      out.push(`<line x1="${legendX}" x2="${legendX + 20}" y1="${y0 - 12}" y2="${y0 - 12}" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="4 3"' : ''}/>`, `<text x="${legendX + 24}" y="${y0 - 8}" font-size="11">${esc(line.label)}</text>`);
      legendX += 34 + line.label.length * 6.2;
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Renders `svg` to PNG in headless Chromium; when no browser starts, writes the SVG next to `pngPath` instead and answers false. */
export async function writePng(svg: string, pngPath: string): Promise<boolean> {
  const fallback = async () => { await writeFile(pngPath.replace(/\.png$/, '') + '.svg', svg); return false; };
  const { chromium } = await import('playwright-core').catch(() => ({ chromium: undefined }));
  if (!chromium) return fallback();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 30_000,
  }).catch(() => undefined);
  if (!browser) return fallback();
  try {
    const m = /width="(\d+)" height="(\d+)"/.exec(svg);
    const page = await browser.newPage({ viewport: { width: Number(m?.[1] ?? 1200), height: Number(m?.[2] ?? 900) } });
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    await page.screenshot({ path: pngPath, fullPage: true });
    return true;
  } finally {
    await browser.close();
  }
}
