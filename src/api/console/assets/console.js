// The operator console: sign-in, health, snapshot freshness, runs, and triggering a run and
// following it to its end. Everything comes from the admin and analytics routes, called with
// the staff token the operator pasted.

import { api, session } from './api.js';
import { loadCharts } from './charts.js';
import { $, el, say, show } from './dom.js';
import { bytes, clock, count, duration, fromNow, millis, serverNow, utc } from './format.js';

const REFRESH_MS = 10000;
const POLL_MS = 500;

const console_ = {
  status: null,
  runs: [],
  watching: null, // id of the run whose progress is shown
  retryUntil: 0, // admin runs refused (429) until this browser time
  refreshTimer: null,
};

// ---- sign-in ----------------------------------------------------------------------------

function signedIn(yes) {
  show($('signin'), !yes);
  show($('console'), yes);
  show($('sign-out'), yes);
  if (!yes) $('token').focus();
}

function signOut(message) {
  session.keep(null);
  clearTimeout(console_.refreshTimer);
  console_.watching = null;
  $('token').value = '';
  say($('signin-error'), message);
  say($('refreshed'), '');
  signedIn(false);
}

/** Signs out on an answer that says the token is not (or no longer) good. */
function refused(e) {
  if (e.status === 401) {
    signOut(`The token was refused: ${e.message} Mint a new one (see below).`);
    return true;
  }
  if (e.status === 403) {
    signOut(`This token's user may not use the console: ${e.message}`);
    return true;
  }
  return false;
}

async function signIn(event) {
  event.preventDefault();
  const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
  if (!token) return;
  session.token = token;
  say($('signin-error'), '');
  $('signin-button').disabled = true;
  try {
    await loadStatus();
    session.keep(token);
    signedIn(true);
    await refreshAll();
    charts();
  } catch (e) {
    session.token = null;
    if (!refused(e)) say($('signin-error'), e.message);
  } finally {
    $('signin-button').disabled = false;
  }
}

// ---- status -----------------------------------------------------------------------------

async function loadStatus() {
  const { body } = await api('admin/status/');
  console_.status = body;
  clock.skewMs = Date.parse(body.generated_at) - Date.now();
  renderHealth(body);
  renderSnapshots(body);
}

function card(id, title, value, detail, tone) {
  return el('div', { class: `card ${tone || ''}`, id }, el('div', { class: 'card-title' }, title),
    el('div', { class: 'card-value' }, value), el('div', { class: 'card-detail muted' }, detail || ''));
}

function renderHealth(s) {
  const db = (name, d) => card(`db-${name}`, `${name} database`, d.reachable ? 'reachable' : 'unreachable',
    d.kind, d.reachable ? 'ok' : 'bad');
  const store = s.day_store;
  const restarts = s.tasks.run_worker.restarts + s.tasks.reloader.restarts;
  const cards = [
    db('platform', s.databases.platform),
    db('summary', s.databases.summary),
    card('next-run', 'Next scheduled run', s.next_scheduled_run ? fromNow(s.next_scheduled_run) : 'not scheduled here',
      s.schedule ? `${utc(s.next_scheduled_run)} · cron ${s.schedule}` : 'this instance runs no schedule (--no-scheduler or ANALYTICS_SCHEDULE empty)'),
    card('next-rebuild', 'Next full rebuild', s.next_full_rebuild ? fromNow(s.next_full_rebuild) : 'not scheduled here',
      s.rebuild_schedule ? `${utc(s.next_full_rebuild)} · cron ${s.rebuild_schedule}` : 'ANALYTICS_REBUILD_SCHEDULE empty or no scheduler here'),
    card('last-rebuild', 'Last full rebuild', s.last_full_rebuild_at ? fromNow(s.last_full_rebuild_at) : 'never',
      s.last_full_rebuild_at ? utc(s.last_full_rebuild_at) : 'the next run rebuilds every day'),
    card('day-store', 'Day store', store ? `${count.format(store.days)} days` : 'not loaded',
      store ? `${bytes(store.approx_bytes)} · read ${duration(store.age_seconds)} ago by run #${store.run_id}` : 'on-demand windows read the platform until a run lands',
      store ? '' : 'warn'),
    card('platform-lag', 'Platform read', lagText(s.platform_lag_ms),
      'newest successful run; on a standby behind, runs end at its last replayed commit', s.platform_lag_ms > 0 ? 'warn' : 'ok'),
    card('capture', 'Change capture', captureText(s.capture), captureDetail(s.capture), captureTone(s.capture)),
    card('drift', 'Drift checks', driftText(s.drift), s.drift.detail || 'stored days compared with the platform by the newest run',
      s.drift.findings > 0 ? 'warn' : ''),
    card('tasks', 'Background tasks', restarts === 0 ? 'healthy' : `${restarts} restart(s)`,
      s.tasks.run_worker.last_panic ? `last panic: ${s.tasks.run_worker.last_panic.message}` : 'run worker and reloader', restarts === 0 ? 'ok' : 'warn'),
  ];
  $('health').replaceChildren(...cards);
  const last = s.last_error;
  if (last) {
    $('last-error').replaceChildren(el('strong', {}, `Last failed run #${last.id}`),
      ` (${last.trigger}, ${utc(last.finished_at || last.started_at)}): `, last.error || 'no message');
  }
  show($('last-error'), Boolean(last));
}

function captureText(c) {
  return { installed: 'installed', absent: 'not installed', incomplete: 'incomplete' }[c.mode] || 'no run yet';
}

function captureDetail(c) {
  if (c.mode === 'installed') {
    const applied = c.changes_applied === null ? 'rebuilt the days' : `applied ${count.format(c.changes_applied)} changed rows`;
    return `run #${c.run_id} ${applied} · ${count.format(c.log_rows || 0)} rows left in the log`;
  }
  if (c.mode === 'incomplete') return 'a capture trigger is missing or disabled: runs re-read the settle window (capture install)';
  return c.mode ? 'runs re-read the settle window; drift checks and the nightly rebuild catch the rest (capture install)' : '';
}

function captureTone(c) {
  return { installed: 'ok', incomplete: 'bad', absent: 'warn' }[c.mode] || '';
}

function driftText(d) {
  if (d.findings === null) return d.run_id ? 'rebuilt' : 'no run yet';
  return d.findings === 0 ? 'none found' : `${count.format(d.findings)} found`;
}

function lagText(ms) {
  if (ms === null) return 'no run yet';
  return ms === 0 ? 'current' : `${millis(ms)} behind`;
}

function renderSnapshots(s) {
  const windows = [...new Set([...s.windows, ...s.snapshots.map((x) => x.window_days)])].sort((a, b) => a - b);
  const endpoints = [...new Set(s.snapshots.map((x) => x.endpoint))].sort();
  const byKey = new Map(s.snapshots.map((x) => [`${x.endpoint}|${x.window_days}`, x]));
  $('stale-rule').textContent = s.stale_after_seconds !== null
    ? `(stale past ${duration(s.stale_after_seconds)}: three schedule periods)`
    : '(no schedule: staleness is not judged)';
  const head = el('tr', {}, el('th', {}, 'endpoint'), windows.map((w) => el('th', {}, `${w} d`)));
  const rows = endpoints.map((e) => el('tr', {}, el('th', { scope: 'row' }, e), windows.map((w) => {
    const snap = byKey.get(`${e}|${w}`);
    if (!snap) return el('td', { class: 'stale', title: 'no snapshot' }, 'missing');
    return el('td', {
      class: snap.stale ? 'stale' : 'fresh',
      title: `computed_at ${utc(snap.computed_at)} by run #${snap.run_id}`,
      'data-endpoint': e,
      'data-window': w,
    }, duration(snap.age_seconds), snap.stale ? el('span', { class: 'tag' }, 'stale') : null);
  })));
  if (endpoints.length === 0) rows.push(el('tr', {}, el('td', { colspan: windows.length + 1 }, 'No snapshots yet: no run has succeeded.')));
  $('snapshots').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

// ---- runs -------------------------------------------------------------------------------

async function loadRuns() {
  try {
    const { body } = await api('admin/runs/');
    console_.runs = body.runs;
    say($('runs-error'), '');
    renderRuns(body.runs);
    const running = body.runs.find((r) => r.status === 'running');
    if (running && console_.watching === null) watch(running.id);
  } catch (e) {
    if (!refused(e)) say($('runs-error'), `Runs cannot be listed: ${e.message}`);
  }
}

function who(run) {
  return run.requested_by === null ? run.trigger : `${run.trigger} · user ${run.requested_by}`;
}

function kindName(kind) {
  return kind === 'full' ? 'full rebuild' : (kind || '—');
}

function renderRuns(runs) {
  const head = el('tr', {}, ['#', 'status', 'kind', 'trigger · who', 'started', 'duration', 'days re-read', 'error']
    .map((h) => el('th', {}, h)));
  const rows = runs.map((r) => el('tr', { 'data-run': r.id, 'data-status': r.status },
    el('td', {}, r.id),
    el('td', {}, el('span', { class: `badge ${r.status}` }, r.status)),
    el('td', {}, kindName(r.kind)),
    el('td', {}, who(r)),
    el('td', {}, utc(r.started_at)),
    el('td', {}, r.status === 'running' ? `${duration((serverNow() - Date.parse(r.started_at)) / 1000)}…` : millis(r.duration_ms)),
    el('td', {}, r.days_reread ?? '—'),
    el('td', { class: 'error-cell', title: r.error || '' }, r.error ? r.error.slice(0, 160) : '')));
  if (runs.length === 0) rows.push(el('tr', {}, el('td', { colspan: 8 }, 'No runs yet.')));
  $('runs').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

/** How long runs of `kind` took lately (median of the last five that succeeded), in ms. */
function typicalMs(kind) {
  const done = console_.runs.filter((r) => r.status === 'succeeded' && r.kind === kind && r.duration_ms !== null)
    .slice(0, 5).map((r) => r.duration_ms).sort((a, b) => a - b);
  return done.length ? done[Math.floor(done.length / 2)] : null;
}

/** Shows a run's progress until it ends, then refreshes everything. */
async function watch(id) {
  console_.watching = id;
  setButtons();
  show($('progress'), true);
  for (;;) {
    if (console_.watching !== id) return;
    let run;
    try {
      run = (await api(`admin/runs/${id}/`)).body;
    } catch (e) {
      if (refused(e)) return;
      $('progress-label').textContent = `Run #${id}: ${e.message} (retrying)`;
      await sleep(2000);
      continue;
    }
    if (run.status !== 'running') {
      finished(run);
      return;
    }
    const elapsed = serverNow() - Date.parse(run.started_at);
    const typical = typicalMs(run.kind);
    const bar = $('progress-bar');
    if (typical) bar.value = Math.min(elapsed / typical, 0.95);
    else bar.removeAttribute('value'); // indeterminate
    $('progress-label').textContent = `Run #${id} (${kindName(run.kind)}, ${who(run)}) running for ${millis(Math.round(elapsed))}`
      + (typical ? `; recent ${kindName(run.kind)} runs took about ${millis(typical)}` : '');
    await sleep(POLL_MS);
  }
}

function finished(run) {
  console_.watching = null;
  show($('progress'), false);
  const message = run.status === 'succeeded'
    ? `Run #${run.id} (${kindName(run.kind)}) succeeded in ${millis(run.duration_ms)}; ${run.days_reread ?? 0} days re-read.`
    : `Run #${run.id} (${kindName(run.kind)}) ${run.status}: ${run.error || 'no message'}`;
  const node = $('action-message');
  say(node, message);
  node.className = run.status === 'succeeded' ? 'ok-text' : 'error';
  setButtons();
  refreshAll().then(charts);
}

function setButtons() {
  const busy = console_.watching !== null || Date.now() < console_.retryUntil;
  $('recompute').disabled = busy;
  $('full-rebuild').disabled = busy;
}

async function trigger(full) {
  const node = $('action-message');
  setButtons();
  $('recompute').disabled = true;
  $('full-rebuild').disabled = true;
  try {
    const { body } = await api(`admin/recompute/${full ? '?full=true' : ''}`, { method: 'POST' });
    const what = full ? 'Full rebuild' : 'Recompute';
    say(node, body.coalesced ? `${what} joined a run already waiting.` : `${what} requested.`);
    node.className = '';
    if (body.run_id !== null) {
      watch(body.run_id);
    } else {
      // Queued behind a run in progress (on this or another instance): follow the runs list.
      say(node, `${what} queued: another run is in progress; it starts when that one ends.`);
      await loadRuns();
      setButtons();
    }
  } catch (e) {
    if (refused(e)) return;
    if (e.status === 429) {
      console_.retryUntil = Date.now() + e.retryAfter * 1000;
      say(node, `Not now: ${e.message}`);
      node.className = 'warn-text';
      setTimeout(setButtons, e.retryAfter * 1000 + 50);
    } else {
      say(node, `The run could not be requested: ${e.message}`);
      node.className = 'error';
    }
    setButtons();
  }
}

// ---- refresh loop -----------------------------------------------------------------------

function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

function charts() {
  if (console_.status) loadCharts(Math.max(...console_.status.windows), refused);
}

async function refreshAll() {
  clearTimeout(console_.refreshTimer);
  if (!session.token) return;
  try {
    await loadStatus();
    await loadRuns();
    $('refreshed').textContent = `updated ${new Date(serverNow()).toISOString().slice(11, 19)} UTC`;
  } catch (e) {
    if (refused(e)) return;
    $('refreshed').textContent = `refresh failed: ${e.message}`;
  }
  setButtons();
  console_.refreshTimer = setTimeout(refreshAll, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut(''));
  $('recompute').addEventListener('click', () => trigger(false));
  $('full-rebuild').addEventListener('click', () => trigger(true));
  if (session.token) {
    signedIn(true);
    refreshAll().then(charts);
  } else {
    signedIn(false);
  }
});

