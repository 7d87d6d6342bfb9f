import type { JournalEntry } from './types';

// The alarm history as CSV (RFC 4180), built in the page and downloaded as a file.

const COLUMNS: (keyof JournalEntry)[] = ['time', 'id', 'area', 'unit', 'priority', 'message', 'from', 'to', 'cause', 'who', 'reason', 'value'];

/**
 * One CSV field: quoted when it holds a comma, quote, CR or LF, quotes doubled. Text that a
 * spreadsheet would run as a formula (= + - @ at the start) gets a leading apostrophe.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function alarmsCsv(entries: JournalEntry[]): string {
  const lines = [COLUMNS.join(',')];
  for (const e of entries) lines.push(COLUMNS.map((c) => csvField(e[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** alarms-<from>-<to>.csv with the range as typed (no characters file systems refuse). */
export function csvFileName(from: string, to: string): string {
  const part = (s: string, none: string) => (s ? s.replace(/[^0-9A-Za-z-]/g, '') : none);
  return `alarms-${part(from, 'start')}-${part(to, 'now')}.csv`;
}

/** Saves text as a file through a temporary link. */
export function download(name: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const blob = new Blob([text], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
