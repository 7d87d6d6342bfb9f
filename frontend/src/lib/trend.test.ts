import { describe, expect, it } from 'vitest';
import {
  MAX_BUCKETS,
  MIN_SPAN_MS,
  PALETTE,
  align,
  assignAxes,
  bucketsFor,
  clampRange,
  drawnPoints,
  following,
  formatRange,
  formatSpan,
  holdToEnd,
  livePoint,
  mergeTail,
  normRange,
  normalise,
  pan,
  pointAt,
  pushTail,
  qualityRuns,
  rangeMs,
  seriesPoints,
  timeTicks,
  trendable,
  trimTail,
  zoomAround,
  type PenPoint,
} from './trend';
import type { HistoryBucket, HistorySeries } from './types';

const UNCERTAIN = 0x40900000;
const BAD = 0x80050000;

function bucket(t: number, over: Partial<HistoryBucket> = {}): HistoryBucket {
  return { t, min: 1, max: 3, avg: 2, first: 1, last: 3, count: 10, good: 100, ...over };
}

describe('History series to pen points', () => {
  it('turns buckets into centred points with a min/max band, gaps for bad, uncertain for partly good', () => {
    const s: HistorySeries = {
      tag: 'A',
      unit: 'kW',
      buckets: [
        bucket(0),
        bucket(1000, { good: 60, avg: 5, min: 4, max: 6 }),
        bucket(2000, { good: 0, avg: null, min: null, max: null }),
        bucket(3000, { good: null, avg: null, min: null, max: null, count: 0 }),
        bucket(4000, { min: null, max: null, avg: 7, count: 0 }), // a held value, no sample
      ],
    };
    const d = seriesPoints(s, { from: 0, to: 5000 });
    expect(d.downsampled).toBe(true);
    expect(d.points.map((p) => p.t)).toEqual([500, 1500, 2500, 3500, 4500]);
    expect(d.points[0]).toMatchObject({ v: 2, lo: 1, hi: 3, q: 'good', good: 100 });
    expect(d.points[1]).toMatchObject({ v: 5, lo: 4, hi: 6, q: 'uncertain', good: 60 });
    expect(d.points[2]).toMatchObject({ v: null, lo: null, hi: null, q: 'bad' });
    expect(d.points[3]).toMatchObject({ v: null, q: 'bad' });
    expect(d.points[4]).toMatchObject({ v: 7, lo: 7, hi: 7, q: 'good' });
  });

  it('keeps raw samples, bad ones and NaN (null) as gaps', () => {
    const s: HistorySeries = {
      tag: 'A',
      unit: '',
      buckets: [],
      raw: [
        { t: 1, v: 10, q: 0 },
        { t: 2, v: 11, q: UNCERTAIN },
        { t: 3, v: 12, q: BAD },
        { t: 4, v: null, q: 0 },
      ],
    };
    const d = seriesPoints(s, { from: 0, to: 5 });
    expect(d.downsampled).toBe(false);
    expect(d.points).toEqual([
      { t: 1, v: 10, q: 'good', code: 0 },
      { t: 2, v: 11, q: 'uncertain', code: UNCERTAIN },
      { t: 3, v: null, q: 'bad', code: BAD },
      { t: 4, v: null, q: 'bad', code: 0 },
    ]);
  });
});

describe('live tail', () => {
  it('makes points of numbers and booleans, gaps of bad values, nothing of strings', () => {
    expect(livePoint({ v: 3.5, q: 0, ts: 100, st: 90 })).toEqual({ t: 100, v: 3.5, q: 'good', code: 0 });
    expect(livePoint({ v: true, q: 0, ts: 0, st: 90 })).toMatchObject({ t: 90, v: 1 });
    expect(livePoint({ v: 3.5, q: BAD, ts: 100, st: 0 })).toMatchObject({ v: null, q: 'bad' });
    expect(livePoint({ v: 'Run', q: 0, ts: 100, st: 0 })).toBeNull();
    expect(livePoint({ v: 1, q: 0, ts: 0, st: 0 })).toBeNull();
  });

  it('appends only what is newer than the history, in order', () => {
    const hist: PenPoint[] = [
      { t: 10, v: 1, q: 'good' },
      { t: 20, v: 2, q: 'good' },
    ];
    const tail: PenPoint[] = [];
    for (const t of [15, 20, 25, 24, 30]) pushTail(tail, { t, v: t, q: 'good' });
    expect(tail.map((p) => p.t)).toEqual([15, 20, 25, 30]);
    const m = mergeTail(hist, tail);
    expect(m.map((p) => p.t)).toEqual([10, 20, 25, 30]);
    expect(hist).toHaveLength(2); // not mutated
    expect(trimTail(tail, 20).map((p) => p.t)).toEqual([25, 30]);
  });

  it('holds the last value to the end of the view, not after a gap', () => {
    const pts: PenPoint[] = [{ t: 10, v: 5, q: 'good' }];
    const h = holdToEnd(pts, 50);
    expect(h).toEqual([
      { t: 10, v: 5, q: 'good' },
      { t: 50, v: 5, q: 'good', held: true },
    ]);
    expect(drawnPoints([h])).toBe(1);
    expect(pointAt(h, Infinity)).toEqual(pts[0]); // the cursor shows the sample, not the hold
    expect(holdToEnd(pts, 10)).toBe(pts);
    expect(holdToEnd([{ t: 10, v: null, q: 'bad' }], 50)).toHaveLength(1);
    expect(holdToEnd([], 50)).toEqual([]);
  });

  it('bounds the tail', () => {
    const tail: PenPoint[] = [];
    for (let t = 1; t <= 10; t++) pushTail(tail, { t, v: t, q: 'good' }, 4);
    expect(tail.map((p) => p.t)).toEqual([7, 8, 9, 10]);
  });
});

describe('aligning pens for uPlot', () => {
  it('joins timestamps, leaves undefined holes, keeps null gaps and band arrays', () => {
    const a: PenPoint[] = [
      { t: 1000, v: 1, lo: 0, hi: 2, q: 'good' },
      { t: 3000, v: null, lo: null, hi: null, q: 'bad' },
    ];
    const b: PenPoint[] = [
      { t: 2000, v: 5, q: 'uncertain' },
      { t: 3000, v: 6, q: 'good' },
    ];
    const r = align([a, b]);
    expect(r.x).toEqual([1, 2, 3]);
    expect(r.v[0]).toEqual([1, undefined, null]);
    expect(r.lo[0]).toEqual([0, undefined, null]);
    expect(r.hi[0]).toEqual([2, undefined, null]);
    expect(r.v[1]).toEqual([undefined, 5, 6]);
    expect(r.lo[1]).toEqual([undefined, undefined, undefined]);
    expect(r.q[1]).toEqual([undefined, 'uncertain', 'good']);
    expect(drawnPoints([a, b])).toBe(3);
  });

  it('finds quality runs up to the next point', () => {
    const pts: PenPoint[] = [
      { t: 0, v: 1, q: 'good' },
      { t: 10, v: 1, q: 'uncertain' },
      { t: 20, v: 1, q: 'uncertain' },
      { t: 30, v: null, q: 'bad' },
      { t: 40, v: 1, q: 'good' },
      { t: 50, v: 1, q: 'uncertain' },
    ];
    expect(qualityRuns(pts, 'uncertain', 55)).toEqual([
      [10, 30],
      [50, 55],
    ]);
    expect(qualityRuns(pts, 'bad')).toEqual([[30, 40]]);
  });

  it('finds the point at the cursor', () => {
    const pts: PenPoint[] = [10, 20, 30].map((t) => ({ t, v: t, q: 'good' as const }));
    expect(pointAt(pts, 5)).toBeUndefined();
    expect(pointAt(pts, 10)?.t).toBe(10);
    expect(pointAt(pts, 29)?.t).toBe(20);
    expect(pointAt(pts, 99)?.t).toBe(30);
    expect(pointAt([], 1)).toBeUndefined();
  });
});

describe('axes', () => {
  it('gives the first unit the left axis, the second the right, the rest a normalised scale', () => {
    expect(assignAxes(['kW', 'A', 'kW', 'bar', '%'])).toEqual([
      { scale: 'y0', side: 'left' },
      { scale: 'y1', side: 'right' },
      { scale: 'y0', side: 'left' },
      { scale: 'norm', side: null },
      { scale: 'norm', side: null },
    ]);
  });

  it('normalises by the engineering range, else the data', () => {
    expect(normRange({ low: 0, high: 200 }, [])).toEqual([0, 200]);
    expect(normRange(undefined, [{ t: 1, v: 5, lo: 2, hi: 9, q: 'good' }])).toEqual([2, 9]);
    expect(normRange(undefined, [{ t: 1, v: 5, q: 'good' }])).toEqual([4, 6]);
    expect(normRange(undefined, [])).toEqual([0, 1]);
    expect(normalise([0, 50, null, undefined, 200], [0, 200])).toEqual([0, 25, null, undefined, 100]);
  });

  it('has 8 distinct calm colours, none of them red/orange/yellow', () => {
    expect(new Set(PALETTE).size).toBe(8);
    for (const c of PALETTE) {
      const n = parseInt(c.slice(1), 16);
      const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
      expect(r > 150 && g < 120 && b < 120, `${c} looks like an alarm red`).toBe(false);
      expect(r > 180 && g > 120 && b < 80, `${c} looks like an alarm yellow/orange`).toBe(false);
    }
  });

  it('knows which signals can be trended', () => {
    expect(trendable({ dataType: 'Double' })).toBe(true);
    expect(trendable({ dataType: 'Boolean' })).toBe(true);
    expect(trendable({ dataType: 'String' })).toBe(false);
  });
});

describe('ranges, zoom and pan', () => {
  const now = 10_000_000;
  it('knows the quick ranges', () => {
    expect(rangeMs('10m')).toBe(600_000);
    expect(rangeMs('7d')).toBe(7 * 86_400_000);
    expect(rangeMs('2y')).toBeNull();
    expect(following(3600_000, now)).toEqual({ from: now - 3600_000, to: now });
  });

  it('zooms around the cursor, keeping its time in place', () => {
    const r = { from: 1_000_000, to: 2_000_000 };
    const z = zoomAround(r, 1_250_000, 0.5, now);
    expect(z).toEqual({ from: 1_125_000, to: 1_625_000 });
    // The cursor stays at the same fraction of the width.
    expect((1_250_000 - z.from) / (z.to - z.from)).toBeCloseTo(0.25);
    expect(zoomAround(r, 1_500_000, 2, now)).toEqual({ from: 500_000, to: 2_500_000 });
  });

  it('does not zoom in beyond the minimum span, nor into the future', () => {
    const z = zoomAround({ from: 0, to: 20_000 }, 10_000, 0.1, now);
    expect(z.to - z.from).toBe(MIN_SPAN_MS);
    expect(z).toEqual({ from: 5_000, to: 15_000 });
    expect(zoomAround({ from: now - 1000_000, to: now }, now, 2, now)).toEqual({ from: now - 2000_000, to: now });
    expect(clampRange({ from: now - 100_000, to: now + 50_000 }, now)).toEqual({ from: now - 150_000, to: now });
  });

  it('pans by a fraction of the span, stopping at now', () => {
    const r = { from: 1_000_000, to: 2_000_000 };
    expect(pan(r, -0.25, now)).toEqual({ from: 750_000, to: 1_750_000 });
    expect(pan(r, 0.5, now)).toEqual({ from: 1_500_000, to: 2_500_000 });
    expect(pan({ from: now - 1000, to: now - 100 }, 1, now).to).toBe(now);
  });

  it('asks for about one bucket per pixel, within 1..5000', () => {
    expect(bucketsFor(1234.4)).toBe(1234);
    expect(bucketsFor(0)).toBe(1);
    expect(bucketsFor(99_999)).toBe(MAX_BUCKETS);
  });

  it('labels time ticks on a 24-hour clock', () => {
    const t = new Date(2026, 10, 27, 14, 5, 30).getTime() / 1000;
    expect(timeTicks([t], 10, 600)).toEqual(['14:05:30']);
    expect(timeTicks([t], 300, 3600)).toEqual(['14:05']);
    expect(timeTicks([t], 3600 * 6, 7 * 86_400)).toEqual(['11-27 14:05']);
    expect(timeTicks([t], 86_400, 7 * 86_400)).toEqual(['11-27']);
  });

  it('labels spans and ranges', () => {
    expect(formatSpan(600_000)).toBe('10 min');
    expect(formatSpan(5400_000)).toBe('1 h 30 min');
    expect(formatSpan(7 * 86_400_000)).toBe('7 d');
    expect(formatSpan(30_000)).toBe('30 s');
    const from = new Date(2026, 10, 27, 8, 0, 0).getTime();
    expect(formatRange({ from, to: from + 3600_000 })).toBe('2026-11-27 08:00:00 – 09:00:00 (1 h)');
    expect(formatRange({ from, to: from + 86_400_000 })).toBe('2026-11-27 08:00:00 – 2026-11-28 08:00:00 (24 h)');
  });
});
