// @vitest-environment happy-dom
// The trend view with uPlot mocked (happy-dom has no canvas): which History requests it makes,
// what it hands the plot, the legend, the live tail, errors, and the unit view's trend links.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

const plots = vi.hoisted(() => [] as any[]);
vi.mock('uplot', () => {
  class FakePlot {
    opts: any;
    data: any[];
    scales: Record<string, { min: number; max: number }> = { x: { min: 0, max: 1 } };
    over = document.createElement('div');
    bbox = { left: 0, top: 0, width: 1000, height: 400 };
    width = 1000;
    select = { left: 0, top: 0, width: 0, height: 0 };
    cursor = { left: -10, top: -10 };
    destroyed = false;
    constructor(opts: any, data: any[], el: HTMLElement) {
      this.opts = opts;
      this.data = data;
      const c = document.createElement('canvas');
      el.append(c);
      plots.push(this);
    }
    batch(f: () => void) {
      f();
    }
    setData(d: any[]) {
      this.data = d;
    }
    setScale(k: string, r: { min: number; max: number }) {
      this.scales[k] = r;
    }
    setSize() {}
    setSelect() {}
    posToVal(px: number) {
      const { min, max } = this.scales.x;
      return min + (px / this.bbox.width) * (max - min);
    }
    valToPos() {
      return 0;
    }
    destroy() {
      this.destroyed = true;
    }
  }
  return { default: FakePlot };
});

import App from '../App.svelte';
import { Session } from '../lib/session.svelte';
import { Router, trendHref } from '../lib/router.svelte';
import { LiveStore } from '../lib/live.svelte';
import { FakeTransport } from '../lib/fake-transport';
import type { HistoryReply, HistoryRequest, Model } from '../lib/types';

const model: Model = {
  site: 'Test mine',
  areas: [
    {
      name: 'Pit',
      units: [
        {
          id: 'Pit.SH01',
          area: 'Pit',
          name: 'SH01',
          displayName: 'Shovel 1',
          kind: 'Shovel',
          key: [],
          signals: [
            { tag: 'Pit.SH01.CurrentA', name: 'CurrentA', description: 'Hoist current', unit: 'A', dataType: 'Double', writable: false },
            { tag: 'Pit.SH01.PowerKW', name: 'PowerKW', description: 'Power', unit: 'kW', dataType: 'Double', writable: false },
            { tag: 'Pit.SH01.Note', name: 'Note', description: 'Text', dataType: 'String', writable: false },
          ],
        },
      ],
    },
  ],
};

/** A History answer: raw samples for CurrentA, buckets (one partly good, one bad) for PowerKW. */
function history(req: HistoryRequest): HistoryReply {
  const w = (req.to - req.from) / 4;
  return {
    from: req.from,
    to: req.to,
    series: req.tags.map((tag) =>
      tag === 'Pit.SH01.CurrentA'
        ? { tag, unit: 'A', buckets: [], raw: [1, 2, 3].map((i) => ({ t: req.from + i * w, v: 800 + i, q: 0 })) }
        : {
            tag,
            unit: 'kW',
            buckets: [0, 1, 2, 3].map((i) => ({
              t: req.from + i * w,
              min: 10,
              max: 30,
              avg: 20,
              first: 10,
              last: 30,
              count: 5,
              good: i === 1 ? 50 : i === 2 ? 0 : 100,
            })),
          },
    ),
  };
}

let app: Record<string, any> | undefined;
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  plots.length = 0;
  document.body.innerHTML = '';
  window.location.hash = '';
});

function mountApp(hash: string, History: (...p: unknown[]) => unknown = (r) => history(r as HistoryRequest)) {
  window.location.hash = hash;
  const transport = new FakeTransport({
    Model: () => model,
    Snapshot: () => [],
    Status: () => ({ now: Date.now(), connections: [] }),
    Ready: () => null,
    History,
  });
  const session = new Session(transport, { store: new LiveStore((cb) => queueMicrotask(cb)) });
  const router = new Router(window);
  session.start();
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(App, { target, props: { session, router } });
  return { transport, session, router };
}

async function until(check: () => void) {
  await vi.waitFor(() => {
    flushSync();
    check();
  });
}

const q = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const historyCalls = (t: FakeTransport) => t.calls.filter((c) => c.method === 'History').map((c) => c.params[0] as HistoryRequest);

describe('Trend view', () => {
  it('asks History for the range with one bucket per pixel and hands uPlot value and band arrays', async () => {
    const { transport } = mountApp(trendHref(['Pit.SH01.CurrentA', 'Pit.SH01.PowerKW'], '8h'));
    await until(() => expect(q('[data-testid="trend-plot"]')?.dataset.state).toBe('ready'));
    await until(() => expect(Number(q('[data-testid="trend-plot"]')!.dataset.points)).toBeGreaterThan(0));
    const req = historyCalls(transport).at(-1)!;
    expect(req.tags).toEqual(['Pit.SH01.CurrentA', 'Pit.SH01.PowerKW']);
    expect(req.to - req.from).toBe(8 * 3600_000);
    expect(req.buckets).toBe(1000);

    const plot = plots.at(-1);
    // x, then value/min/max per pen; a band per pen.
    expect(plot.data).toHaveLength(7);
    expect(plot.opts.bands).toHaveLength(2);
    expect(plot.opts.axes.map((a: any) => a.label)).toEqual([undefined, 'A', 'kW']);
    const [x, cur, , , pow, powLo, powHi] = plot.data;
    expect(x.length).toBe(8); // 3 raw + 4 bucket centres + the last values held to the end
    expect(cur.filter((v: unknown) => typeof v === 'number')).toEqual([801, 802, 803, 803]);
    // The bad bucket is a gap (null); the others carry avg and the min/max band.
    expect(pow.filter((v: unknown) => v !== undefined)).toEqual([20, 20, null, 20, 20]);
    expect(powLo.filter((v: unknown) => v !== undefined)).toEqual([10, 10, null, 10]);
    expect(powHi.filter((v: unknown) => v !== undefined)).toEqual([30, 30, null, 30]);
    expect(plot.scales.x.max - plot.scales.x.min).toBeCloseTo(8 * 3600, 0);

    // The legend: a row per pen with its unit and latest value.
    expect(text('[data-pen="Pit.SH01.CurrentA"]')).toContain('803');
    expect(text('[data-pen="Pit.SH01.PowerKW"]')).toContain('kW');
    expect(text('[data-testid="trend-range"]')).toContain('(8 h)');
    expect(q('[data-testid="trend-following"]')).not.toBeNull();
  });

  it('appends live values while following', async () => {
    const { transport } = mountApp(trendHref(['Pit.SH01.CurrentA'], '10m'));
    await until(() => expect(Number(q('[data-testid="trend-plot"]')?.dataset.points)).toBe(3));
    const now = Date.now();
    transport.emit('tags', [{ t: 'Pit.SH01.CurrentA', v: 900, q: 0, ts: now + 1000, st: now + 1000 }]);
    transport.emit('tags', [{ t: 'Pit.SH01.CurrentA', v: 901, q: 0x80050000, ts: now + 2000, st: now + 2000 }]);
    await until(() => expect(Number(q('[data-testid="trend-plot"]')!.dataset.points)).toBe(4));
    const cur = plots.at(-1).data[1];
    expect(cur.slice(-2)).toEqual([900, null]); // the bad one is a gap, and nothing is held after it
  });

  it('zooms by a drag selection and re-queries that range; Live follows again', async () => {
    const { transport } = mountApp(trendHref(['Pit.SH01.CurrentA'], '1h'));
    await until(() => expect(q('[data-testid="trend-plot"]')?.dataset.state).toBe('ready'));
    const plot = plots.at(-1);
    const { min, max } = plot.scales.x;
    plot.select = { left: 250, top: 0, width: 500, height: 400 };
    plot.opts.hooks.setSelect[0](plot);
    flushSync();
    expect(q('[data-testid="trend-following"]')).toBeNull();
    expect(plot.scales.x.max - plot.scales.x.min).toBeCloseTo((max - min) / 2, 0);
    await until(() => {
      const r = historyCalls(transport).at(-1)!;
      expect(r.to - r.from).toBeCloseTo(1800_000, -3);
      expect(r.from / 1000).toBeCloseTo(min + (max - min) / 4, 0);
    });
    expect(text('[data-testid="trend-range"]')).toContain('(30 min)');

    q('[data-testid="trend-live"]')!.click();
    await until(() => expect(q('[data-testid="trend-following"]')).not.toBeNull());
    expect(text('[data-testid="trend-range"]')).toContain('(1 h)');
  });

  it('shows History errors in the view, and the loading state', async () => {
    let fail: (e: Error) => void = () => {};
    mountApp(trendHref(['Pit.SH01.CurrentA'], '1h'), () => new Promise((_, reject) => (fail = reject)));
    await until(() => expect(q('[data-testid="trend-loading"]')).not.toBeNull());
    expect(q('[data-testid="trend-plot"]')!.dataset.state).toBe('loading');
    fail(new Error('history is off (started with --no-history or without a data directory)'));
    await until(() => expect(text('[data-testid="trend-error"]')).toContain('history is off'));
    expect(q('[data-testid="trend-error"]')!.getAttribute('role')).toBe('alert');
  });

  it('is reached from the unit view: a Trend link per signal and "Trend selected"', async () => {
    mountApp('#/unit/Pit.SH01');
    await until(() => expect(q('[data-unit-view="Pit.SH01"]')).not.toBeNull());
    await until(() => expect(q('[data-trend-link="Pit.SH01.CurrentA"]')).not.toBeNull());
    expect(q('[data-trend-link="Pit.SH01.Note"]')).toBeNull(); // strings are not recorded
    expect(q<HTMLAnchorElement>('[data-trend-link="Pit.SH01.CurrentA"]')!.getAttribute('href')).toBe(trendHref(['Pit.SH01.CurrentA']));
    const button = q<HTMLButtonElement>('[data-trend-selected]')!;
    expect(button.disabled).toBe(true);
    for (const t of ['Pit.SH01.PowerKW', 'Pit.SH01.CurrentA']) {
      const box = q<HTMLInputElement>(`[data-trend-pick="${t}"]`)!;
      box.checked = true;
      box.dispatchEvent(new Event('change', { bubbles: true }));
      flushSync();
    }
    expect(button.disabled).toBe(false);
    button.click();
    await until(() => expect(q('[data-trend-view]')).not.toBeNull());
    expect(window.location.hash).toBe(trendHref(['Pit.SH01.PowerKW', 'Pit.SH01.CurrentA']));
    await until(() => expect([...document.querySelectorAll<HTMLElement>('[data-pen]')].map((e) => e.dataset.pen)).toEqual(['Pit.SH01.PowerKW', 'Pit.SH01.CurrentA']));
  });
});
