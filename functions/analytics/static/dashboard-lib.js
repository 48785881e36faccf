// The live dashboard's settings, state and helpers (formatting, DOM, the API call), shared by
// dashboard.js, loaded before it. Plain browser JavaScript: top-level names are shared between the
// page's classic scripts.
'use strict';


/** How often the page asks again, and how long one answer may take before it counts as failed. */
const REFRESH_MS = 5_000;
const FETCH_TIMEOUT_MS = 10_000;
const TOP_PRODUCTS = 10;
const RECENT_SESSIONS = 12;
const DQ_SAMPLES = 3;

const TYPE_COLORS = {
  page_view: '#60a5fa', search: '#a78bfa', product_view: '#818cf8', add_to_cart: '#fbbf24', remove_from_cart: '#f87171',
  checkout_start: '#fb923c', purchase: '#34d399', login: '#94a3b8', logout: '#64748b',
};
/** The journey timeline's rows, top to bottom: the way through the shop, then the account events. */
const TIMELINE_ROWS = ['page_view', 'search', 'product_view', 'add_to_cart', 'remove_from_cart', 'checkout_start', 'purchase', 'login', 'logout'];
const TIER_COLORS = { Platinum: '#a5f3fc', Gold: '#facc15', Silver: '#cbd5e1', Bronze: '#d08b4c', unknown: '#64748b' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const state = {
  refreshes: 0,
  lastOkAt: 0,
  user: '',
  reason: '',
  warningKind: '',
  charts: {},
  pickedFirstUser: false,
  sessionNumbers: new Map(),
};

// ---------------------------------------------------------------------------------------------
// Reading the API

class ApiError extends Error {
  constructor(path, status, code, detail) {
    super(detail);
    this.path = path;
    this.status = status;
    this.code = code;
  }
}

/** GET an API path and return its `data`; any failure becomes an ApiError that says what went wrong. */
async function api(path) {
  let res;
  try {
    res = await fetch(path, { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    const timedOut = err && err.name === 'TimeoutError';
    throw new ApiError(path, 0, timedOut ? 'timeout' : 'unreachable', timedOut ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'the analytics API is unreachable');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(path, res.status, body?.code ?? 'http_' + res.status, body?.detail ?? res.statusText);
  return body.data;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const $ = (id) => document.getElementById(id);
const int = (n) => Number(n).toLocaleString('en-US');
const money = (s) => '$' + Number(s).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compactMoney = (n) => '$' + Number(n).toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const pct = (x) => (100 * x).toFixed(1) + ' %';
/** ClickHouse answers DateTime64 as 'YYYY-MM-DD hh:mm:ss.sss' in UTC. */
const ms = (t) => Date.parse(String(t).replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(String(t)) ? '' : 'Z'));
const two = (n) => String(n).padStart(2, '0');
const clock = (t) => { const d = new Date(t); return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`; };
const dayClock = (t) => {
  const d = new Date(t);
  return new Date().toISOString().slice(0, 10) === d.toISOString().slice(0, 10) ? clock(t) : `${d.toISOString().slice(5, 10)} ${clock(t)}`;
};
const duration = (milli) => {
  const s = Math.round(milli / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
};
const ago = (t) => {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
};
const short = (id) => String(id).slice(0, 8);
/** 'checkout_start' → ['checkout', 'start'], 'add_to_cart' → ['add to', 'cart']: axis labels on at most two lines. */
const twoLines = (name) => { const w = name.split('_'); return w.length > 1 ? [w.slice(0, -1).join(' '), w[w.length - 1]] : name; };

/** Builds an element: el('td', {class: 'x', 'data-testid': 'y'}, 'text', childNode, ...). Strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}
const td = (content, attrs = {}) => el('td', attrs, content);
const swatch = (color) => el('span', { class: 'swatch', style: `background:${color}` });
const fill = (tbody, rows, cols, emptyText = 'nothing in this range yet') => {
  tbody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { class: 'empty', colspan: cols }, emptyText))]));
};
const setText = (testid, text) => { for (const e of document.querySelectorAll(`[data-testid="${testid}"]`)) e.textContent = text; };

// ---------------------------------------------------------------------------------------------
// Charts

/** Writes each bar's value at its end (chart.js draws none by default). options.plugins.valueLabels.format(value, index). */
const valueLabels = {
  id: 'valueLabels',
  afterDatasetsDraw(chart, _args, opts) {
    if (!opts || !opts.format) return;
    const { ctx } = chart;
    const horizontal = chart.options.indexAxis === 'y';
    ctx.save();
    ctx.font = '600 11px system-ui, sans-serif';
    ctx.fillStyle = '#e6e9ef';
    chart.data.datasets.forEach((ds, i) => {
      chart.getDatasetMeta(i).data.forEach((bar, j) => {
        const text = opts.format(ds.data[j], j);
        if (!text) return;
        if (horizontal) { ctx.textAlign = 'left'; ctx.textBaseline = 'middle'; ctx.fillText(text, bar.x + 6, bar.y); }
        else { ctx.textAlign = 'center'; ctx.textBaseline = 'bottom'; ctx.fillText(text, bar.x, bar.y - 4); }
      });
    });
    ctx.restore();
  },
};

/** Shades each session of the journey behind its events, numbered as in the sessions table. */
const sessionBands = {
  id: 'sessionBands',
  beforeDatasetsDraw(chart, _args, opts) {
    const sessions = (opts && opts.sessions) || [];
    const { ctx, chartArea: area, scales: { x } } = chart;
    ctx.save();
    ctx.font = '600 11px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    sessions.forEach((s, i) => {
      const left = Math.max(area.left, x.getPixelForValue(s.start));
      const right = Math.min(area.right, Math.max(x.getPixelForValue(s.end), left + 4));
      if (right <= area.left || left >= area.right) return;
      ctx.fillStyle = s.open ? 'rgba(52, 211, 153, 0.12)' : i % 2 ? 'rgba(96, 165, 250, 0.10)' : 'rgba(167, 139, 250, 0.10)';
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.fillStyle = s.open ? '#34d399' : '#8b97ab';
      ctx.fillRect(left, area.top, right - left, 2);
      ctx.textAlign = 'left';
      ctx.fillText(`S${s.n}${s.open ? ' open' : ''}`, left + 3, area.top + 5);
    });
    ctx.restore();
  },
};
