import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Session } from './session.svelte';
import { LiveStore } from './live.svelte';
import { ServerClock } from './clock.svelte';
import { FakeTransport } from './fake-transport';
import type { Model, Signal, Status } from './types';

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
          displayName: 'Electric shovel SH01',
          kind: 'ElectricShovel',
          key: ['Pit.SH01.HoistCurrentA'],
          signals: [],
        },
      ],
    },
  ],
};

const signal = (tag: string): Signal => ({
  tag,
  name: tag.split('.').pop()!,
  description: '',
  dataType: 'Double',
  writable: false,
});

const status = (now: number, state: Status['connections'][0]['state'] = 'connected'): Status => ({
  now,
  connections: [{ name: 'sim', endpoint: 'opc.tcp://x', state, lastError: '', lastDataAt: now, items: 1, rate: 1 }],
});

let local = 1_000_000;
let transport: FakeTransport;
let session: Session;

function start() {
  session = new Session(transport, {
    store: new LiveStore((cb) => cb()), // apply at once
    clock: new ServerClock(() => local),
    retryMs: 1000,
  });
  session.start();
}

const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  local = 1_000_000;
  transport = new FakeTransport({
    Model: () => model,
    Snapshot: () => [{ t: 'Pit.SH01.HoistCurrentA', v: 812, q: 0, ts: 999_000, st: 999_000 }],
    Status: () => status(1_005_000),
    Ready: () => null,
  });
});
afterEach(() => vi.useRealTimers());

describe('Session', () => {
  it('loads model, snapshot and status, and syncs the clock to the server', async () => {
    start();
    await settle();
    expect(session.model?.site).toBe('Test mine');
    expect(session.store.cell('Pit.SH01.HoistCurrentA').v).toBe(812);
    // Server is 5 s ahead of this browser.
    expect(session.clock.now).toBe(1_005_000);
    local += 1000;
    session.clock.tick();
    expect(session.clock.now).toBe(1_006_000);
    expect(session.live()).toBe(true);
  });

  it('applies tag and status events', async () => {
    start();
    await settle();
    transport.emit('tags', [{ t: 'Pit.SH01.HoistCurrentA', v: 900, q: 0, ts: 1_005_100, st: 1_005_100 }]);
    expect(session.store.cell('Pit.SH01.HoistCurrentA').v).toBe(900);
    transport.emit('status', status(1_006_000, 'stale'));
    expect(session.overallState()).toBe('stale');
    expect(session.live()).toBe(false);
  });

  it('is not live when status stops coming', async () => {
    start();
    await settle();
    expect(session.live()).toBe(true);
    local += 6000;
    session.clock.tick();
    expect(session.live()).toBe(false);
  });

  it('shows a load failure in the error list and retries', async () => {
    let fail = true;
    transport.answers.Model = () => {
      if (fail) throw new Error('engine starting');
      return model;
    };
    start();
    await settle();
    expect(session.errors.map((e) => e.message)).toEqual([
      'Could not load the site from Minebrain: engine starting',
    ]);
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(session.model).not.toBeNull();
    expect(session.errors).toEqual([]);
  });

  it('re-fetches model and snapshot after a reconnect, not after the first open', async () => {
    start();
    await settle();
    transport.link({ state: 'open' });
    await settle();
    expect(transport.count('Model')).toBe(1);
    transport.link({ state: 'lost', error: 'gone' });
    expect(session.live()).toBe(false);
    transport.link({ state: 'open', reconnected: true });
    await settle();
    expect(transport.count('Model')).toBe(2);
    expect(transport.count('Snapshot')).toBe(2);
  });

  it('waits for the model event while the engine knows no equipment, without asking again', async () => {
    transport.answers.Model = () => ({ site: 'S', areas: [] });
    start();
    await settle();
    expect(session.model?.areas).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transport.count('Model')).toBe(1);
    transport.emit('model', model);
    expect(session.model).toEqual(model);
    expect(transport.count('Model')).toBe(1);
  });

  it('replaces the model on a model event, keeping the values of tags still in it', async () => {
    const withSignals = (tags: string[]): Model => ({
      site: 'Test mine',
      areas: [{ name: 'Pit', units: [{ ...model.areas[0].units[0], signals: tags.map((tag) => signal(tag)) }] }],
    });
    transport.answers.Model = () => withSignals(['Pit.SH01.HoistCurrentA', 'Pit.SH01.PayloadT']);
    transport.answers.Snapshot = () => [
      { t: 'Pit.SH01.HoistCurrentA', v: 812, q: 0, ts: 999_000, st: 999_000 },
      { t: 'Pit.SH01.PayloadT', v: 40, q: 0, ts: 999_000, st: 999_000 },
    ];
    start();
    await settle();
    const hoist = session.store.cell('Pit.SH01.HoistCurrentA');
    expect(session.store.knownCount).toBe(2);

    const next = withSignals(['Pit.SH01.HoistCurrentA', 'Pit.SH01.SwingAngleDeg']);
    transport.emit('model', next);
    expect(session.model).toEqual(next);
    expect(session.store.cell('Pit.SH01.HoistCurrentA')).toBe(hoist);
    expect(hoist.v).toBe(812);
    expect(session.store.knownCount).toBe(1); // PayloadT is gone from the site
  });

  it('keeps a model event over an older Model reply that arrives after it', async () => {
    let reply!: (m: Model) => void;
    transport.answers.Model = () => new Promise<Model>((r) => (reply = r));
    start();
    await settle();
    transport.emit('model', model);
    reply({ site: 'S', areas: [] }); // computed before the equipment was discovered
    await settle();
    expect(session.model).toEqual(model);
  });

  it('reports a model event it cannot read and keeps its model', async () => {
    start();
    await settle();
    transport.emit('model', { site: 'broken' });
    expect(session.model).toEqual(model);
    expect(session.errors.map((e) => e.key)).toEqual(['model']);
  });

  it('sends Ready once', async () => {
    start();
    await settle();
    session.ready({ units: 1, values: 1 });
    session.ready({ units: 1, values: 2 });
    await settle();
    expect(transport.calls.filter((c) => c.method === 'Ready')).toEqual([
      { method: 'Ready', params: [{ units: 1, values: 1 }] },
    ]);
  });

  it('uses the unit\'s own connection when the model names it', async () => {
    start();
    await settle();
    const two: Status = {
      now: 1_005_000,
      connections: [
        { ...status(0).connections[0], name: 'a', state: 'connected' },
        { ...status(0).connections[0], name: 'b', state: 'disconnected' },
      ],
    };
    session.applyStatus(two);
    const unit = { ...model.areas[0].units[0], connection: 'a' };
    expect(session.live(unit)).toBe(true);
    expect(session.live({ ...unit, connection: 'b' })).toBe(false);
    expect(session.live(model.areas[0].units[0])).toBe(false); // unknown mapping: all must be up
  });
});
