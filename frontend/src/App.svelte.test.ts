// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import App from './App.svelte';
import { Session } from './lib/session.svelte';
import { Router } from './lib/router.svelte';
import { LiveStore } from './lib/live.svelte';
import { FakeTransport } from './lib/fake-transport';
import type { Model, Signal } from './lib/types';

const signal = (unit: string, name: string, dataType = 'Double', eu = ''): Signal => ({
  tag: `${unit}.${name}`,
  name,
  description: `${name} of ${unit}`,
  unit: eu,
  low: 0,
  high: 100,
  dataType,
  writable: false,
});

const model: Model = {
  site: 'Test mine',
  areas: ['Pit', 'Water'].map((area) => ({
    name: area,
    units: [1, 2].map((n) => {
      const id = `${area}.U0${n}`;
      return {
        id,
        area,
        name: `U0${n}`,
        displayName: `Unit ${n}`,
        kind: 'Thing',
        key: [`${id}.Load`],
        signals: [signal(id, 'RunState', 'Int32'), signal(id, 'Mode', 'Int32'), signal(id, 'Load', 'Double', '%')],
      };
    }),
  })),
};

let app: Record<string, any> | undefined;
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  window.location.hash = '';
});

/** Mounts the app on a fake engine; boot also waits for the overview. */
function mountApp(answers: Partial<Record<string, (...p: unknown[]) => unknown>> = {}) {
  const now = Date.now();
  const transport = new FakeTransport({
    Model: () => model,
    Snapshot: () => [
      { t: 'Pit.U01.Load', v: 42, q: 0, ts: now, st: now },
      { t: 'Pit.U01.RunState', v: 2, q: 0, ts: now, st: now },
      { t: 'Water.U02.Load', v: 7, q: 0x80340000, ts: now, st: now },
    ],
    Status: () => ({
      now,
      connections: [{ name: 'sim', endpoint: 'opc.tcp://x', state: 'connected', lastError: '', lastDataAt: now, items: 3, rate: 1 }],
    }),
    Ready: () => null,
    ...answers,
  });
  const session = new Session(transport, { store: new LiveStore((cb) => queueMicrotask(cb)) });
  const router = new Router(window);
  session.start();
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(App, { target, props: { session, router } });
  return { transport, session, router };
}

async function boot(answers: Partial<Record<string, (...p: unknown[]) => unknown>> = {}) {
  const booted = mountApp(answers);
  await vi.waitFor(() => {
    flushSync();
    expect(document.querySelectorAll('[data-unit]').length).toBe(4);
  });
  return booted;
}

describe('App', () => {
  it('shows every unit grouped by area with its values, state and quality', async () => {
    await boot();
    expect([...document.querySelectorAll('[data-area]')].map((e) => (e as HTMLElement).dataset.area)).toEqual([
      'Pit',
      'Water',
    ]);
    const load = document.querySelector<HTMLElement>('[data-tag="Pit.U01.Load"]')!;
    expect(load.textContent).toContain('42');
    expect(load.dataset.quality).toBe('good');
    expect(document.querySelector<HTMLElement>('[data-tag="Water.U02.Load"]')!.dataset.quality).toBe('bad');
    expect(document.querySelector('[data-unit="Pit.U01"] [data-runstate]')!.textContent).toContain('FAULT');
    expect(document.querySelector('[data-site]')!.textContent).toBe('Test mine');
  });

  it('calls Ready once the overview shows values', async () => {
    const { transport } = await boot();
    await vi.waitFor(() => expect(transport.count('Ready')).toBe(1));
    expect(transport.calls.find((c) => c.method === 'Ready')!.params[0]).toEqual({ units: 4, values: 3 });
  });

  it('says what it waits for while the engine knows no equipment, then shows the model event', async () => {
    const now = Date.now();
    const conn = { name: 'opcua', endpoint: 'opc.tcp://10.1.2.3:4840', lastDataAt: 0, items: 0, rate: 0 };
    const { transport } = mountApp({
      Model: () => ({ site: 'opc.tcp://10.1.2.3:4840', areas: [] }),
      Snapshot: () => [],
      Status: () => ({ now, connections: [{ ...conn, state: 'connecting', lastError: 'dial tcp 10.1.2.3:4840: connection refused' }] }),
    });
    await vi.waitFor(() => {
      flushSync();
      expect(document.querySelector('[data-waiting]')?.textContent).toContain(
        'Waiting for opc.tcp://10.1.2.3:4840: dial tcp 10.1.2.3:4840: connection refused',
      );
    });
    expect(document.querySelector('[data-banner="errors"]')).toBeNull();
    expect(transport.count('Ready')).toBe(0);

    transport.emit('model', model);
    transport.emit('tags', [{ t: 'Pit.U01.Load', v: 55, q: 0, ts: now, st: now }]);
    transport.emit('status', { now, connections: [{ ...conn, state: 'connected', lastError: '', lastDataAt: now }] });
    await vi.waitFor(() => {
      flushSync();
      expect(document.querySelectorAll('[data-unit]').length).toBe(4);
      expect(document.querySelector('[data-tag="Pit.U01.Load"]')!.textContent).toContain('55');
    });
    expect(document.querySelector('[data-waiting]')).toBeNull();
    await vi.waitFor(() => expect(transport.count('Ready')).toBe(1));
    expect(transport.calls.find((c) => c.method === 'Ready')!.params[0]).toEqual({ units: 4, values: 1 });
  });

  it('opens a unit from the hash and goes back on Escape', async () => {
    await boot();
    window.location.hash = '#/unit/Pit.U01';
    await vi.waitFor(() => {
      flushSync();
      expect(document.querySelector('[data-unit-view="Pit.U01"]')).not.toBeNull();
    });
    expect(document.querySelectorAll('[data-signal]').length).toBe(3);
    expect(document.querySelector('[data-signal="Pit.U01.Load"]')!.textContent).toContain('Good');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await vi.waitFor(() => {
      flushSync();
      expect(document.querySelector('[data-unit-view]')).toBeNull();
      expect(document.querySelectorAll('[data-unit]').length).toBe(4);
    });
  });

  it('shows a load error in a banner', async () => {
    const transport = new FakeTransport({ Model: () => Promise.reject(new Error('kaput')), Snapshot: () => [] });
    const session = new Session(transport);
    const target = document.createElement('div');
    document.body.append(target);
    session.start();
    app = mount(App, { target, props: { session, router: new Router(window) } });
    await vi.waitFor(() => {
      flushSync();
      expect(document.querySelector('[data-banner="errors"]')?.textContent).toContain('kaput');
    });
  });
});
