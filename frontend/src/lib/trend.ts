// The trend view's data logic, free of uPlot and the DOM so it can be tested on its own:
// History replies and live values become per-pen points, the pens are aligned on one time
// axis (uPlot's data layout), and zoom/pan are plain range arithmetic.
//
// Gaps: `null` in an aligned array breaks the line (bad quality, or no data); `undefined`
// is only an alignment hole (another pen has a point there) and the line runs through it.

import type { HistoryReply, HistorySeries, Signal, TagValue } from './types';
import { qualityOf } from './quality';

export const MAX_PENS = 8;

/** Whether the historian records a signal's values as numbers (strings and the like it skips). */
export function trendable(s: Pick<Signal, 'dataType'>): boolean {
  return !/string|text|datetime|bytestring|guid|nodeid|qualifiedname/i.test(s.dataType);
}
export const MAX_BUCKETS = 5000;
/** The narrowest view zoom allows. */
export const MIN_SPAN_MS = 10_000;
/** The widest view zoom allows. */
export const MAX_SPAN_MS = 400 * 24 * 3600_000;

export interface QuickRange {
  key: string;
  label: string;
  ms: number;
}

export const QUICK_RANGES: QuickRange[] = [
  { key: '10m', label: '10 min', ms: 10 * 60_000 },
  { key: '1h', label: '1 h', ms: 3600_000 },
  { key: '8h', label: '8 h', ms: 8 * 3600_000 },
  { key: '24h', label: '24 h', ms: 24 * 3600_000 },
  { key: '7d', label: '7 d', ms: 7 * 24 * 3600_000 },
];
export const DEFAULT_RANGE = '1h';

/** The span of a quick-range key ("10m", "1h", …), or null for anything else. */
export function rangeMs(key: string): number | null {
  return QUICK_RANGES.find((r) => r.key === key)?.ms ?? null;
}

/**
 * Pen colours: calm, mutually distinct, dark enough on the grey ISA-101 background, and none
 * of them an alarm colour (no red, orange, yellow, or the magenta of bad quality).
 */
export const PALETTE = ['#1f4e99', '#00796b', '#6a4c93', '#7a5230', '#2b7a99', '#55691e', '#4a5568', '#8a5f9e'];

export type PenQuality = 'good' | 'uncertain' | 'bad';

/** One point of a pen: `v` null where the value is bad or missing (a gap). */
export interface PenPoint {
  t: number;
  v: number | null;
  /** Band edges (bucket min/max) when downsampled. */
  lo?: number | null;
  hi?: number | null;
  q: PenQuality;
  /** Percent good of a bucket; absent for raw samples. */
  good?: number | null;
  /** OPC UA status code of a raw sample. */
  code?: number;
  /** Not a sample: the last value held on to the end of the view (see holdToEnd). */
  held?: boolean;
}

export interface PenData {
  points: PenPoint[];
  /** True when these points are buckets (min/max band), false for raw samples. */
  downsampled: boolean;
}

/**
 * A History series as pen points. Buckets are placed at their centre; a bucket with no good
 * time is a gap, a partly good one is 'uncertain'. Raw samples keep their quality; bad ones
 * (and NaN values) are gaps.
 */
export function seriesPoints(s: HistorySeries, reply: Pick<HistoryReply, 'from' | 'to'>): PenData {
  if (s.raw) {
    return {
      downsampled: false,
      points: s.raw.map((p) => {
        const q = qualityOf(p.q);
        return { t: p.t, v: q === 'bad' || p.v === null ? null : p.v, q: p.v === null ? 'bad' : q, code: p.q };
      }),
    };
  }
  const n = s.buckets.length;
  const width = n > 0 ? (reply.to - reply.from) / n : 0;
  return {
    downsampled: true,
    points: s.buckets.map((b) => {
      const t = b.t + width / 2;
      if (b.good === null || b.good <= 0 || b.avg === null) {
        return { t, v: null, lo: null, hi: null, q: 'bad', good: b.good };
      }
      return {
        t,
        v: b.avg,
        lo: b.min ?? b.avg,
        hi: b.max ?? b.avg,
        q: b.good >= 100 ? 'good' : 'uncertain',
        good: b.good,
      };
    }),
  };
}

/** A live value as a pen point, or null when it cannot be drawn (a string, no time). */
export function livePoint(tv: Pick<TagValue, 'v' | 'q' | 'ts' | 'st'>): PenPoint | null {
  const t = tv.ts || tv.st;
  if (!t) return null;
  let v: number | null;
  if (typeof tv.v === 'number') v = Number.isFinite(tv.v) ? tv.v : null;
  else if (typeof tv.v === 'boolean') v = tv.v ? 1 : 0;
  else if (tv.v === null) v = null;
  else return null;
  const q = qualityOf(tv.q);
  return { t, v: q === 'bad' ? null : v, q: v === null ? 'bad' : q, code: tv.q };
}

/**
 * The history points followed by the live tail: tail points newer than the newest history
 * point, in time order, without duplicates.
 */
export function mergeTail(points: PenPoint[], tail: PenPoint[]): PenPoint[] {
  const last = points.length ? points[points.length - 1].t : -Infinity;
  const out = points.slice();
  let prev = last;
  for (const p of tail) {
    if (p.t <= prev) continue;
    out.push(p);
    prev = p.t;
  }
  return out;
}

/**
 * The points with the last value held on to `end` (a tag's value holds until its next
 * sample, so a value that has not changed still draws a line to now, not a lone dot). The
 * added point is marked `held`; nothing is added after a gap or at or before the last point.
 */
export function holdToEnd(points: PenPoint[], end: number): PenPoint[] {
  const last = points[points.length - 1];
  if (!last || last.v === null || last.t >= end) return points;
  return [...points, { t: end, v: last.v, q: last.q, held: true }];
}

/** Appends a live point to a tail, keeping time order and at most `max` points. */
export function pushTail(tail: PenPoint[], p: PenPoint, max = 20_000): void {
  if (tail.length && p.t <= tail[tail.length - 1].t) return;
  tail.push(p);
  if (tail.length > max) tail.splice(0, tail.length - max);
}

/** Drops tail points at or before t (a fresh History reply covers them). */
export function trimTail(tail: PenPoint[], t: number): PenPoint[] {
  let i = 0;
  while (i < tail.length && tail[i].t <= t) i++;
  return i ? tail.slice(i) : tail;
}

export type Cell = number | null | undefined;

/** uPlot's layout: one shared x array (seconds) and, per pen, value and band arrays. */
export interface Aligned {
  /** Times in seconds (uPlot's default time unit). */
  x: number[];
  v: Cell[][];
  lo: Cell[][];
  hi: Cell[][];
  q: (PenQuality | undefined)[][];
}

/** Aligns the pens on the union of their timestamps; holes are `undefined`, gaps `null`. */
export function align(pens: PenPoint[][]): Aligned {
  const times = new Set<number>();
  for (const pts of pens) for (const p of pts) times.add(p.t);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((t, i) => index.set(t, i));
  const mk = <T>() => pens.map(() => new Array<T>(xs.length).fill(undefined as T));
  const v = mk<Cell>();
  const lo = mk<Cell>();
  const hi = mk<Cell>();
  const q = mk<PenQuality | undefined>();
  pens.forEach((pts, k) => {
    for (const p of pts) {
      const i = index.get(p.t)!;
      v[k][i] = p.v;
      q[k][i] = p.q;
      if (p.lo !== undefined) lo[k][i] = p.v === null ? null : p.lo;
      if (p.hi !== undefined) hi[k][i] = p.v === null ? null : p.hi;
    }
  });
  return { x: xs.map((t) => t / 1000), v, lo, hi, q };
}

/**
 * Time ranges (ms) over which a pen's quality is `which`: from the first such point to the
 * next point of the pen (the value holds until then), merged when adjacent.
 */
export function qualityRuns(points: PenPoint[], which: PenQuality, end = Infinity): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < points.length; i++) {
    if (points[i].q !== which) continue;
    const from = points[i].t;
    const to = i + 1 < points.length ? points[i + 1].t : Number.isFinite(end) ? Math.max(from, end) : from;
    const last = runs[runs.length - 1];
    if (last && last[1] >= from) last[1] = Math.max(last[1], to);
    else runs.push([from, to]);
  }
  return runs;
}

/** Pens counted as drawable points (non-null values): what the e2e test checks. */
export function drawnPoints(pens: PenPoint[][]): number {
  let n = 0;
  for (const pts of pens) for (const p of pts) if (p.v !== null && !p.held) n++;
  return n;
}

/** The pen's sample at or before t (what the cursor shows; never a held point), or undefined. */
export function pointAt(points: PenPoint[], t: number): PenPoint | undefined {
  const p = pointAtRaw(points, t);
  if (p?.held) return pointAtRaw(points, p.t - 1e-6);
  return p;
}

function pointAtRaw(points: PenPoint[], t: number): PenPoint | undefined {
  let lo = 0;
  let hi = points.length - 1;
  if (hi < 0 || points[0].t > t) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (points[mid].t <= t) lo = mid;
    else hi = mid - 1;
  }
  return points[lo];
}

// --- Axes ---------------------------------------------------------------------------------

/**
 * Where each pen is drawn. The first engineering unit gets the left axis, the second the right
 * one; pens of a third or later unit share a normalised scale ('norm', 0–100 % of their
 * engineering range, else of their data) without an axis, and the legend says so.
 */
export interface PenAxis {
  scale: string;
  side: 'left' | 'right' | null;
}

export function assignAxes(units: string[]): PenAxis[] {
  const order: string[] = [];
  for (const u of units) if (!order.includes(u) && order.length < 2) order.push(u);
  return units.map((u) => {
    const i = order.indexOf(u);
    if (i === 0) return { scale: 'y0', side: 'left' };
    if (i === 1) return { scale: 'y1', side: 'right' };
    return { scale: 'norm', side: null };
  });
}

/** The low/high a normalised pen is scaled by: its signal's range, else its data's extent. */
export function normRange(signal: Pick<Signal, 'low' | 'high'> | undefined, points: PenPoint[]): [number, number] {
  if (signal?.low !== undefined && signal?.high !== undefined && signal.high > signal.low) return [signal.low, signal.high];
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    for (const v of [p.v, p.lo, p.hi]) {
      if (typeof v === 'number') {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) return [lo - 1, hi + 1];
  return [lo, hi];
}

/** Scales values to 0–100 % of [low, high]; null and undefined stay as they are. */
export function normalise(values: Cell[], [low, high]: [number, number]): Cell[] {
  const span = high - low;
  return values.map((v) => (typeof v === 'number' ? ((v - low) / span) * 100 : v));
}

// --- Ranges, zoom and pan ------------------------------------------------------------------

export interface TimeRange {
  from: number;
  to: number;
}

/** Keeps a range within the allowed spans and never in the future beyond `now`. */
export function clampRange(r: TimeRange, now: number): TimeRange {
  const span = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, r.to - r.from));
  const mid = (r.from + r.to) / 2;
  let from = mid - span / 2;
  let to = mid + span / 2;
  if (to > now) {
    to = now;
    from = now - span;
  }
  return { from: Math.round(from), to: Math.round(to) };
}

/** Zooms by `factor` (< 1 in, > 1 out) keeping the time `at` where it is on screen. */
export function zoomAround(r: TimeRange, at: number, factor: number, now: number): TimeRange {
  const from = at - (at - r.from) * factor;
  const to = at + (r.to - at) * factor;
  return clampRange({ from, to }, now);
}

/** Moves the range by `fraction` of its span (negative: back in time). */
export function pan(r: TimeRange, fraction: number, now: number): TimeRange {
  const d = (r.to - r.from) * fraction;
  return clampRange({ from: r.from + d, to: r.to + d }, now);
}

/** The range that ends now with that span (following). */
export function following(span: number, now: number): TimeRange {
  return { from: now - span, to: now };
}

/** Buckets to ask for: about one per pixel of plot width. */
export function bucketsFor(widthPx: number): number {
  return Math.max(1, Math.min(MAX_BUCKETS, Math.round(widthPx) || 1));
}

/** A short label for a span: "10 min", "1 h 30 min", "7 d". */
export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local date and time to the second: "2026-11-27 09:46:16". */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The range label: "2026-11-27 08:46:16 – 09:46:16 (1 h)"; the date is repeated only if it differs. */
export function formatRange(r: TimeRange): string {
  const a = formatTime(r.from);
  const b = formatTime(r.to);
  const to = a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b;
  return `${a} – ${to} (${formatSpan(r.to - r.from)})`;
}

/**
 * Time-axis tick labels (24-hour clock): seconds shown when ticks are less than a minute
 * apart, the date when the view spans more than a day. `splits` are in seconds (uPlot).
 */
export function timeTicks(splits: number[], incrSec: number, spanSec: number): string[] {
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const date = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (incrSec >= 86_400) return date;
    if (spanSec > 86_400) return `${date} ${hm}`;
    if (incrSec < 60) return `${hm}:${pad(d.getSeconds())}`;
    return hm;
  });
}

/** A value for the legend, to a sensible precision. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}
