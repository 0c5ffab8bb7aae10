// How numbers, times and durations are written on the page. Times are UTC; "now" is the
// server's clock (the status answer's `generated_at`), not the browser's.

/** Server clock minus browser clock, in ms. */
export const clock = { skewMs: 0 };

/** Seconds as `42s`, `3m 5s`, `2h 10m` or `1d 4h`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Milliseconds as `850 ms` or `3.2 s`. */
export function millis(ms) {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** An RFC 3339 UTC time as `2026-12-03 15:04:05 UTC`. */
export function utc(iso) {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+/, '').replace(/(Z|\+00:00)$/, ' UTC');
}

/** The server's clock now, in ms since the epoch. */
export function serverNow() {
  return Date.now() + clock.skewMs;
}

/** An RFC 3339 time relative to the server's now: `in 3m 5s` or `2h 10m ago`. */
export function fromNow(iso) {
  if (!iso) return '—';
  const seconds = (Date.parse(iso) - serverNow()) / 1000;
  return seconds >= 0 ? `in ${duration(seconds)}` : `${duration(-seconds)} ago`;
}

/** A size in B, KiB or MiB. */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Naira, whole units (captions; exact sums are made before formatting). */
export const naira = new Intl.NumberFormat('en-NG', { style: 'currency', currency: 'NGN', maximumFractionDigits: 0 });
/** Counts with thousands separators. */
export const count = new Intl.NumberFormat('en-NG');

/** An axis label: `1.2K`, `3.4M`. */
export function compact(v) {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(v);
}
