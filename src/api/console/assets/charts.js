// The daily series (revenue, active users, transactions, sign-ups) over the largest common
// window, drawn with uPlot (vendored, loaded before this module).

import { api } from './api.js';
import { $, el, say } from './dom.js';
import { compact, count, naira } from './format.js';

let drawn = [];

// Summed in hundredths (kobo for money) so the caption is exact, whatever floats the JSON numbers become.
const total = (values, format) => `total ${format(values.reduce((a, v) => a + Math.round(v * 100), 0) / 100)}`;
const average = (values, format) => `${format(Math.round(values.reduce((a, v) => a + v, 0) / (values.length || 1)))} a day on average`;
const SERIES = [
  { key: 'revenue_total', title: 'Revenue', format: (v) => naira.format(v), color: '#1f7a4d', summary: total },
  { key: 'active_users', title: 'Active users', format: (v) => count.format(v), color: '#2f5fb3', summary: average },
  { key: 'transactions', title: 'Transactions', format: (v) => count.format(v), color: '#8a4fb3', summary: total },
  { key: 'new_users', title: 'Sign-ups', format: (v) => count.format(v), color: '#c06a1b', summary: total },
];

/** Draws the four charts over the last `days` days; `refused` handles an answer that ends the session. */
export async function loadCharts(days, refused) {
  if (typeof uPlot === 'undefined') return;
  $('charts-window').textContent = `(last ${days} days, one point per local day)`;
  let report;
  try {
    report = (await api(`reports/export/?report_type=daily&metrics=transactions,revenue,users&days=${days}`)).body;
    say($('charts-error'), '');
  } catch (e) {
    if (!refused(e)) say($('charts-error'), `The daily series cannot be loaded: ${e.message}`);
    return;
  }
  const xs = report.rows.map((r) => Date.parse(`${r.period}T00:00:00Z`) / 1000);
  drawn.forEach((c) => c.destroy());
  const values = SERIES.map((s) => report.rows.map((r) => Number(r[s.key])));
  const boxes = SERIES.map((s, i) => el('figure', { class: 'chart', id: `chart-${s.key}` },
    el('figcaption', {}, s.title, ' ', el('span', { class: 'muted' }, s.summary(values[i], s.format)))));
  $('charts').replaceChildren(...boxes);
  drawn = SERIES.map((s, i) => new uPlot({
    width: chartWidth(boxes[i]),
    height: 180,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { show: true },
    scales: { x: { time: true } },
    series: [{ label: 'day', value: (u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
      { label: s.title, stroke: s.color, fill: `${s.color}22`, width: 1.5, value: (u, v) => (v === null ? '—' : s.format(v)) }],
    axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => compact(v)) }],
  }, [xs, values[i]], boxes[i]));
}

/** The width a chart gets in its grid cell (the layout decides: two columns, or one). */
function chartWidth(box) {
  return Math.max(240, Math.floor(box.clientWidth));
}

let resizing = null;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    drawn.forEach((c) => c.setSize({ width: chartWidth(c.root.parentElement), height: 180 }));
  }, 150);
});
