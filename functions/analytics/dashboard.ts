import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PAGE = fileURLToPath(new URL('./dashboard.html', import.meta.url));
let cached: string | undefined;

/** The live dashboard: one static page that polls the API every few seconds. */
export function dashboardHtml(): string {
  return (cached ??= readFileSync(PAGE, 'utf8'));
}
