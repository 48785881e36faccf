import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';

const PAGE = fileURLToPath(new URL('./dashboard.html', import.meta.url));
/** The page's own script and styles: plain files the browser runs as they are (no build step). */
const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
/** chart.js's dist folder in node_modules: its UMD build is served from there, never from a CDN. */
const CHART_JS_DIR = dirname(createRequire(import.meta.url).resolve('chart.js'));
/** Browsers may keep the vendored chart.js for a day (its path changes only with an upgrade); the page's own files are revalidated. */
const VENDOR_MAX_AGE = '1d';
let cached: string | undefined;

/** The live dashboard: one static page that polls the API every few seconds. */
export function dashboardHtml(): string {
  return (cached ??= readFileSync(PAGE, 'utf8'));
}

/** Mounts the page at `/`, its script and styles under `/static/`, and chart.js under `/static/vendor/chart.js/`. */
export function mountDashboard(app: Express): void {
  app.get('/', (_req, res) => void res.type('html').set('cache-control', 'no-cache').send(dashboardHtml()));
  app.use('/static/vendor/chart.js', express.static(CHART_JS_DIR, { index: false, maxAge: VENDOR_MAX_AGE, fallthrough: false }));
  app.use('/static', express.static(STATIC_DIR, { index: false, maxAge: 0, fallthrough: false }));
}
