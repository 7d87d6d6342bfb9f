import type { Value } from './types';

/** Compact age: 0s … 59s, 4m05s, 3h04m, 2d03h. Negative ages (clock skew) read as 0s. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad(m % 60)}m`;
  const d = Math.floor(h / 24);
  return `${d}d${pad(h % 24)}h`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** A value for display: fixed significant digits for analogs, so columns do not jitter. */
export function formatValue(v: Value | undefined, dataType = ''): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'ON' : 'OFF';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (/^U?Int/.test(dataType) || (dataType === '' && Number.isInteger(v))) return String(Math.round(v));
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** hh:mm:ss in local time, for the server clock and source timestamps. */
export function formatClock(ms: number): string {
  if (!ms) return '—';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Date and time with milliseconds, for the unit view's timestamp column. */
export function formatTimestamp(ms: number): string {
  if (!ms) return '—';
  const d = new Date(ms);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const ms3 = String(d.getMilliseconds()).padStart(3, '0');
  return `${date} ${formatClock(ms)}.${ms3}`;
}

/** Date and time to the second, for certificate validity and the like. */
export function formatDateTime(ms: number): string {
  if (!ms) return '—';
  const d = new Date(ms);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${formatClock(ms)}`;
}
