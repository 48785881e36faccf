// The live dashboard: polls the analytics API every few seconds and draws what it answers.
// Plain browser JavaScript, no build step; charts by chart.js (window.Chart, its UMD build).
// Everything that came from producers (payloads, ids, urls) is put in the page as text, never as HTML.
'use strict';

function setupCharts() {
  const { Chart } = window;
  Chart.defaults.color = '#8b97ab';
  Chart.defaults.borderColor = 'rgba(255, 255, 255, 0.06)';
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.font.size = 11;
  Chart.defaults.animation = false; // a live page redraws every few seconds: no motion, no flicker
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.display = false;

  state.charts.types = new Chart($('types-chart'), {
    type: 'bar', plugins: [valueLabels],
    data: { labels: [], datasets: [{ data: [], backgroundColor: [], borderRadius: 3, barPercentage: 0.8 }] },
    options: {
      indexAxis: 'y', layout: { padding: { right: 44 } },
      scales: { x: { beginAtZero: true, grid: { display: false }, ticks: { display: false }, border: { display: false } }, y: { grid: { display: false } } },
      plugins: { valueLabels: { format: (v) => int(v) }, tooltip: { callbacks: { label: (c) => `${int(c.raw)} events` } } },
    },
  });
  state.charts.funnel = new Chart($('funnel-chart'), {
    type: 'bar', plugins: [valueLabels],
    data: { labels: [], datasets: [{ data: [], backgroundColor: ['#60a5fa', '#818cf8', '#fbbf24', '#fb923c', '#34d399'], borderRadius: 4, barPercentage: 0.7 }] },
    options: {
      layout: { padding: { top: 18 } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { grid: { display: false }, ticks: { maxRotation: 0 } } },
      plugins: { valueLabels: { format: () => '' }, tooltip: { callbacks: { label: (c) => `${int(c.raw)} sessions` } } },
    },
  });
  state.charts.tiers = new Chart($('tiers-chart'), {
    type: 'bar', plugins: [valueLabels],
    data: { labels: [], datasets: [{ data: [], backgroundColor: [], borderRadius: 4, barPercentage: 0.7 }] },
    options: {
      layout: { padding: { top: 18 } },
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => compactMoney(v) } }, x: { grid: { display: false } } },
      plugins: { valueLabels: { format: (v) => compactMoney(v) }, tooltip: { callbacks: { label: (c) => `${money(c.raw)} revenue` } } },
    },
  });
  state.charts.journey = new Chart($('journey-chart'), {
    type: 'scatter', plugins: [sessionBands],
    data: { datasets: [] },
    options: {
      layout: { padding: { top: 4 } },
      scales: {
        x: { type: 'linear', ticks: { callback: (v) => clock(v).slice(0, 5), maxTicksLimit: 12 }, grid: { color: 'rgba(255,255,255,0.04)' } },
        y: { type: 'linear', min: -1.2, max: TIMELINE_ROWS.length - 0.4, reverse: true, afterBuildTicks: (axis) => { axis.ticks = TIMELINE_ROWS.map((_, i) => ({ value: i })); }, ticks: { callback: (v) => TIMELINE_ROWS[v] ?? '' }, grid: { color: 'rgba(255,255,255,0.04)' } },
      },
      plugins: {
        sessionBands: { sessions: [] },
        tooltip: { callbacks: { label: (c) => `${c.raw.type} at ${clock(c.raw.x)}${c.raw.detail ? ' · ' + c.raw.detail : ''}` } },
      },
    },
  });
}

function setBars(chart, labels, values, colors, format) {
  chart.data.labels = labels;
  chart.data.datasets[0].data = values;
  if (colors) chart.data.datasets[0].backgroundColor = colors;
  if (format) chart.options.plugins.valueLabels.format = format;
  chart.update('none');
}

// ---------------------------------------------------------------------------------------------
// Panels: each says what it reads and how it draws it. A panel whose read fails keeps its last
// figures and is marked stale; the banner says why.

const panels = [
  {
    name: 'types', read: () => api('/api/event-types'),
    draw(types) {
      setBars(state.charts.types, types.map((t) => t.event_type), types.map((t) => t.events), types.map((t) => TYPE_COLORS[t.event_type] ?? '#64748b'));
      fill($('types'), types.map((t) => el('tr', {},
        td([swatch(TYPE_COLORS[t.event_type] ?? '#64748b'), t.event_type]),
        td(int(t.events), { 'data-testid': `event-count-${t.event_type}` }),
        td(int(t.users), { 'data-testid': `event-users-${t.event_type}` }))), 3);
      state.accepted = types.reduce((s, t) => s + t.events, 0);
      setText('kpi-events', int(state.accepted));
      rejectedShare();
    },
  },
  {
    // The ordered funnel, from sessions: each step counts the sessions that got at least that far in order.
    name: 'funnel', read: () => Promise.all([api('/api/funnel'), api('/api/funnel/by-tier'), api('/api/funnel/time-to-convert')]),
    draw([steps, byTier, convert]) {
      setBars(state.charts.funnel, steps.map((s) => twoLines(s.step)), steps.map((s) => s.sessions), null, (_v, i) => (i === 0 ? '100 %' : pct(steps[i].conversion_from_start)));
      fill($('funnel'), steps.map((s, i) => el('tr', {},
        td(s.step),
        td(int(s.sessions), { 'data-testid': `funnel-sessions-${s.step}` }),
        td(int(s.users), { 'data-testid': `funnel-users-${s.step}` }),
        td(i === 0 ? '—' : pct(s.conversion_from_previous), { 'data-testid': `funnel-step-conversion-${s.step}` }),
        td(pct(s.conversion_from_start), { 'data-testid': `funnel-conversion-${s.step}` }))), 5);
      const first = steps[0], last = steps[steps.length - 1];
      setText('kpi-visitors', int(first ? first.users : 0));
      setText('kpi-conversion', last ? pct(last.conversion_from_start) : '—');
      const time = (t) => (t === null ? '—' : duration(t));
      setText('funnel-median', time(convert.median_ms));
      setText('funnel-p90', time(convert.p90_ms));
      setText('funnel-converted', int(convert.converted));
      fill($('funnel-tiers'), Object.entries(byTier).map(([tier, ts]) => el('tr', { 'data-tier': tier },
        td([swatch(TIER_COLORS[tier] ?? '#64748b'), tier]),
        ...ts.map((s) => td(int(s.sessions), { 'data-testid': `funnel-tier-${tier}-${s.step}`, title: `${pct(s.conversion_from_start)} of the first step` })),
        td(pct(ts[ts.length - 1].conversion_from_start), { 'data-testid': `funnel-tier-conversion-${tier}` }),
        td(time(convert.by_tier[tier]?.median_ms ?? null), { class: 'muted' }))), 8);
    },
  },
  {
    name: 'tiers', read: () => api('/api/tiers'),
    draw(tiers) {
      setBars(state.charts.tiers, tiers.map((t) => t.tier), tiers.map((t) => Number(t.revenue)), tiers.map((t) => TIER_COLORS[t.tier] ?? '#64748b'));
      fill($('tiers'), tiers.map((t) => el('tr', {},
        td([swatch(TIER_COLORS[t.tier] ?? '#64748b'), t.tier]),
        td(int(t.users), { 'data-testid': `tier-users-${t.tier}` }),
        td(int(t.events), { 'data-testid': `tier-events-${t.tier}` }),
        td(int(t.purchases), { 'data-testid': `tier-purchases-${t.tier}` }),
        td(int(t.orders), { 'data-testid': `tier-orders-${t.tier}` }),
        td(money(t.revenue), { 'data-testid': `tier-revenue-${t.tier}` }),
        td(money(t.avg_order_value), { 'data-testid': `tier-aov-${t.tier}` }))), 7);
      // Money is summed in cents so the total is exact.
      const cents = tiers.reduce((s, t) => s + Math.round(Number(t.revenue) * 100), 0);
      setText('kpi-revenue', money(cents / 100));
      setText('kpi-orders', int(tiers.reduce((s, t) => s + t.orders, 0)));
    },
  },
  {
    name: 'products', read: () => api(`/api/products?limit=${TOP_PRODUCTS}&sort=revenue`),
    draw(products) {
      const max = Math.max(1, ...products.map((p) => Number(p.revenue)));
      fill($('products'), products.map((p) => el('tr', { 'data-product-id': p.product_id },
        td(p.product_id, { class: 'id' }), td(p.category, { class: 'muted' }),
        td(int(p.views)), td(int(p.add_to_carts)), td(int(p.purchases)),
        el('td', { class: 'barcell', 'data-testid': `product-revenue-${p.product_id}`, title: 'bar: share of the top product\'s revenue' },
          el('div', { class: 'bar', style: `width:${Math.round((100 * Number(p.revenue)) / max)}%` }), el('span', {}, money(p.revenue))),
        td(pct(p.view_to_purchase_rate)))), 7);
    },
  },
  {
    name: 'sessions', read: () => Promise.all([api('/api/sessions/summary'), api(`/api/sessions/recent?limit=${RECENT_SESSIONS}`)]),
    draw([summary, recent]) {
      setText('sessions-total', int(summary.sessions));
      setText('sessions-open', int(summary.open));
      setText('sessions-closed', int(summary.closed));
      setText('sessions-converted', int(summary.converted));
      setText('sessions-avg-duration', duration(summary.avg_duration_s * 1000));
      setText('sessions-avg-events', summary.avg_events.toFixed(1));
      setText('kpi-sessions-open', int(summary.open));
      setText('kpi-sessions-closed', int(summary.closed));
      fill($('recent-sessions'), recent.map((s) => el('tr', { 'data-session-id': s.session_id, onclick: () => showUser(s.user_id, { scroll: true }), title: 'show this user\'s journey' },
        td(dayClock(ms(s.start_time))), td(short(s.user_id), { class: 'id' }),
        td([swatch(TIER_COLORS[s.tier] ?? '#64748b'), s.tier]),
        td(duration(s.duration_ms)), td(int(s.event_count)), td(int(s.purchases)), td(money(s.revenue)),
        td(el('span', { class: `tag ${s.is_closed ? 'closed' : 'open'}` }, s.is_closed ? `closed · ${s.closed_by}` : 'open')))), 8);
    },
  },
  {
    name: 'quality',
    read: () => api(`/api/dead-letters?limit=${DQ_SAMPLES}${state.reason ? '&reason=' + encodeURIComponent(state.reason) : ''}`),
    draw({ counts, samples }) {
      fill($('dq-counts'), counts.map((c) => el('tr', {
        'data-testid': 'dq-row', 'data-reason': c.reason, class: c.reason === state.reason ? 'selected' : undefined,
        onclick: () => { state.reason = state.reason === c.reason ? '' : c.reason; refresh(); }, title: 'show samples of this reason',
      },
      td(c.reason, { class: 'reason' }), td(c.event_type || '—', { class: 'left' }), td(c.source, { class: 'left muted' }),
      td(int(c.count), { 'data-testid': 'dq-count' }), td(dayClock(ms(c.last_seen)), { class: 'muted' }))), 5, 'no rejected events in this range');
      state.rejected = counts.reduce((s, c) => s + c.count, 0);
      setText('kpi-rejected', int(state.rejected));
      rejectedShare();
      $('dq-filter').textContent = state.reason || 'all reasons';
      $('dq-export').href = '/api/dead-letters/export' + (state.reason ? '?reason=' + encodeURIComponent(state.reason) : '');
      $('dq-samples').replaceChildren(...samples.map((s) => el('div', { class: 'sample', 'data-testid': 'dq-sample' },
        el('div', { class: 'meta' },
          el('span', { class: 'reason' }, s.reason), el('span', {}, s.detail + (s.field ? ` (${s.field})` : '')),
          el('span', {}, dayClock(ms(s.received_at))), el('span', { class: 'id' }, s.ce_id)),
        el('pre', { title: s.payload }, s.payload.length > 400 ? s.payload.slice(0, 400) + '…' : s.payload))));
    },
  },
  {
    name: 'warnings',
    read: () => api(`/api/warnings?limit=${DQ_SAMPLES}${state.warningKind ? '&kind=' + encodeURIComponent(state.warningKind) : ''}`),
    draw({ counts, samples }) {
      fill($('dqw-counts'), counts.map((c) => el('tr', {
        'data-testid': 'dqw-row', 'data-kind': c.kind, 'data-field': c.field, class: c.kind === state.warningKind ? 'selected' : undefined,
        onclick: () => { state.warningKind = state.warningKind === c.kind ? '' : c.kind; refresh(); }, title: 'show samples of this kind',
      },
      td(c.kind, { class: 'reason' }), td(c.field, { class: 'left' }),
      td(int(c.count), { 'data-testid': 'dqw-count' }), td(dayClock(ms(c.last_seen)), { class: 'muted' }))), 4, 'no warnings in this range');
      $('dqw-filter').textContent = state.warningKind || 'all kinds';
      $('dqw-samples').replaceChildren(...samples.map((s) => el('div', { class: 'sample', 'data-testid': 'dqw-sample' },
        el('div', { class: 'meta' },
          el('span', { class: 'reason' }, s.kind), el('span', {}, `${s.field} = ${s.value}`), el('span', {}, s.event_type),
          el('span', {}, dayClock(ms(s.received_at))), el('span', { class: 'id' }, s.record_id)),
        ...(s.dataschema ? [el('pre', {}, `dataschema ${s.dataschema}`)] : []))));
    },
  },
  {
    name: 'freshness', read: () => api('/api/freshness'),
    draw(f) {
      // Complete up to the watermark when the API knows it, else up to the newest stored event.
      const upTo = f.complete_up_to ?? f.latest_event;
      const t = upTo ? ms(upTo) : 0;
      setText('complete-up-to', t ? dayClock(t) : 'no events yet');
      $('freshness').title = t ? `complete up to ${upTo} UTC (${ago(t)}); newest event ${f.latest_event} UTC; last write ${f.last_stored} UTC` : '';
      // Sessions: every event stored before the sessionizer's cursor is in its session row.
      const c = f.sessions_complete_until ? ms(f.sessions_complete_until) : 0;
      setText('sessions-complete', c ? dayClock(c) : 'no sessionizer run yet');
      document.querySelector('[data-testid="sessions-complete"]').dataset.at = f.sessions_complete_until ?? '';
      setText('sessions-lag', c ? `(${ago(c)})` : '');
      setText('late-count', int(f.late));
      setText('rejected-count', int(f.rejected));
    },
  },
  {
    name: 'users', read: () => api('/api/users/recent'),
    draw(users) {
      const select = $('journey-select');
      const ids = users.map((u) => u.user_id);
      if (state.user && !ids.includes(state.user)) ids.unshift(state.user);
      const lastSeen = new Map(users.map((u) => [u.user_id, ms(u.last_seen)]));
      select.replaceChildren(el('option', { value: '' }, ids.length ? 'pick a user' : 'no user active in the last hour'),
        ...ids.map((id) => el('option', { value: id }, lastSeen.has(id) ? `${id} · ${dayClock(lastSeen.get(id))}` : id)));
      select.value = state.user;
      if (!state.user && !state.pickedFirstUser && ids.length) {
        state.pickedFirstUser = true;
        showUser(ids[0]);
      }
    },
  },
];

/** Rejected as a share of everything received (accepted events + rejects), once both are known. */
function rejectedShare() {
  if (state.accepted === undefined || state.rejected === undefined) return;
  const received = state.accepted + state.rejected;
  setText('kpi-rejected-share', received ? pct(state.rejected / received) : '—');
}

// The journey is read with the other panels once a user is chosen, and right away when one is.
const journeyPanel = {
  name: 'journey', read: () => api(`/api/users/${encodeURIComponent(state.user)}/journey`),
  draw(j) {
    if (j.user_id !== state.user) return; // an answer for a user no longer shown
    $('journey-error').textContent = '';
    const numbers = new Map(j.sessions.map((s, i) => [s.session_id, i + 1]));
    setText('journey-user', j.user_id);
    setText('journey-event-count', int(j.events.length));
    setText('journey-session-count', int(j.sessions.length));
    setText('journey-purchases', int(j.events.filter((e) => e.event_type === 'purchase').length));
    setText('journey-revenue', money(j.sessions.reduce((s, x) => s + Math.round(Number(x.revenue) * 100), 0) / 100));

    const detail = (e) => e.search_query ? `“${e.search_query}”` : e.product_id ? `${e.product_id}${e.quantity ? ' ×' + e.quantity : ''}${Number(e.price) ? ' @ ' + money(e.price) : ''}` : e.page_url;
    const chart = state.charts.journey;
    chart.data.datasets = TIMELINE_ROWS.map((type, row) => ({
      label: type, pointRadius: 5, pointHoverRadius: 7, backgroundColor: TYPE_COLORS[type], borderColor: '#0d1117', borderWidth: 1,
      data: j.events.filter((e) => e.event_type === type).map((e) => ({ x: ms(e.timestamp), y: row, type, detail: detail(e) })),
    }));
    const times = [...j.events.map((e) => ms(e.timestamp)), ...j.sessions.flatMap((s) => [ms(s.start_time), ms(s.end_time)])];
    const [lo, hi] = times.length ? [Math.min(...times), Math.max(...times)] : [Date.now() - 3600_000, Date.now()];
    const pad = Math.max(60_000, (hi - lo) * 0.03);
    chart.options.scales.x.min = lo - pad;
    chart.options.scales.x.max = hi + pad;
    chart.options.plugins.sessionBands.sessions = j.sessions.map((s, i) => ({ n: i + 1, start: ms(s.start_time), end: ms(s.end_time), open: !s.is_closed }));
    chart.update('none');

    fill($('journey-sessions'), j.sessions.map((s, i) => el('tr', { 'data-testid': 'journey-session', 'data-session-id': s.session_id },
      td(`S${i + 1}`, { title: s.session_id }), td(dayClock(ms(s.start_time))), td(dayClock(ms(s.end_time))), td(duration(s.duration_ms)),
      td(int(s.event_count)), td(int(s.purchases)), td(money(s.revenue)),
      td(el('span', { class: `tag ${s.is_closed ? 'closed' : 'open'}` }, s.is_closed ? `closed · ${s.closed_by}` : 'open')))), 8, 'no sessions in this range');
    fill($('journey-events'), j.events.map((e) => el('tr', { 'data-testid': 'journey-event', 'data-event-id': e.event_id },
      td(dayClock(ms(e.timestamp))),
      td([swatch(TYPE_COLORS[e.event_type] ?? '#64748b'), e.event_type, e.is_late ? el('span', { class: 'tag late', style: 'margin-left:6px' }, 'late') : null], { class: 'left' }),
      td(detail(e), { class: 'left muted' }),
      td(numbers.has(e.session_id) ? `S${numbers.get(e.session_id)}` : short(e.session_id), { title: e.session_id }))), 4, 'no events in this range');
  },
};

function showUser(id, { scroll = false } = {}) {
  id = String(id).trim().toLowerCase();
  if (!UUID.test(id)) { $('journey-error').textContent = 'a user id is a UUID'; return; }
  state.user = id;
  state.pickedFirstUser = true;
  $('journey-input').value = '';
  $('journey-error').textContent = '';
  history.replaceState(null, '', '#user=' + id);
  if (![...$('journey-select').options].some((o) => o.value === id)) $('journey-select').append(el('option', { value: id }, id));
  $('journey-select').value = id;
  if (scroll) document.querySelector('[data-panel="journey"]').scrollIntoView({ behavior: 'smooth' });
  load(journeyPanel).then((failure) => { if (failure) $('journey-error').textContent = failure.message; });
}

// ---------------------------------------------------------------------------------------------
// The refresh loop and what it tells the operator

/** Reads and draws one panel; answers the failure, if any (the panel keeps its last figures). */
async function load(panel) {
  const section = document.querySelector(`[data-panel="${panel.name}"]`);
  try {
    const data = await panel.read();
    panel.draw(data);
    section?.removeAttribute('data-stale');
    return undefined;
  } catch (err) {
    if (!(err instanceof ApiError)) console.error(err); // a bug in this page, not an outage
    section?.setAttribute('data-stale', 'true');
    return err instanceof ApiError ? err : new ApiError(panel.name, 0, 'page_error', String(err));
  }
}

let running = false;
async function refresh() {
  if (running) return;
  running = true;
  try {
    const list = state.user ? [...panels, journeyPanel] : panels;
    const failures = (await Promise.all(list.map(load))).filter(Boolean);
    // A journey the API refuses (an id that is no UUID) is the user's mistake, not an outage.
    const outages = failures.filter((f) => f.status === 0 || f.status >= 500);
    if (outages.length === 0) state.lastOkAt = Date.now();
    report(outages, list.length);
    const kpis = document.querySelector('[data-panel="kpis"]');
    if (outages.length) kpis.setAttribute('data-stale', 'true'); else kpis.removeAttribute('data-stale');
    state.refreshes += 1;
    document.body.dataset.refreshes = String(state.refreshes);
    document.body.dataset.state = outages.length ? 'stale' : 'ok';
  } finally {
    running = false;
  }
}

function report(outages, asked) {
  const pill = $('freshness');
  const banner = $('banner');
  if (outages.length === 0) {
    pill.dataset.state = 'ok';
    banner.hidden = true;
    document.title = 'speed-layer · live analytics';
    setText('refreshed', `refreshed ${clock(state.lastOkAt)} UTC`);
    return;
  }
  pill.dataset.state = 'stale';
  document.title = '⚠ speed-layer · stale';
  const first = outages[0];
  const what = first.code === 'query_failed' ? 'ClickHouse is not answering the analytics queries'
    : first.status === 0 ? (first.code === 'timeout' ? 'The analytics API is not answering in time' : 'The analytics API is unreachable')
      : `The analytics API answers ${first.status}`;
  const since = state.lastOkAt ? `Figures below are from ${clock(state.lastOkAt)} UTC (${ago(state.lastOkAt)}) and marked stale` : 'No figures could be read yet';
  banner.replaceChildren(el('b', {}, `⚠ ${what}`), ` — ${outages.length} of ${asked} reads failed: `, el('code', {}, first.message),
    `. ${since}; retrying every ${REFRESH_MS / 1000} s.`);
  banner.hidden = false;
  setText('refreshed', `last good refresh ${state.lastOkAt ? clock(state.lastOkAt) + ' UTC' : 'never'}`);
}

function start() {
  if (!window.Chart) {
    const banner = $('banner');
    banner.textContent = 'chart.js did not load (/static/vendor/chart.js/chart.umd.min.js): is it installed (npm ci)?';
    banner.hidden = false;
    console.error('chart.js missing');
    return;
  }
  setupCharts();
  $('journey-form').addEventListener('submit', (e) => {
    e.preventDefault();
    showUser($('journey-input').value || $('journey-select').value);
  });
  $('journey-select').addEventListener('change', (e) => { if (e.target.value) showUser(e.target.value); });
  const fromHash = /user=([0-9a-f-]{36})/i.exec(location.hash);
  if (fromHash) { state.user = fromHash[1].toLowerCase(); state.pickedFirstUser = true; }
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
