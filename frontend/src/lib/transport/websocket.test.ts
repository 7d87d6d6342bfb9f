import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketTransport } from './websocket';
import { FakeWebSocket } from './fake-websocket';
import type { LinkInfo } from './transport';

let sockets: FakeWebSocket[];
let t: WebSocketTransport;

function make(opts: Partial<ConstructorParameters<typeof WebSocketTransport>[0]> = {}) {
  t = new WebSocketTransport({
    url: 'ws://mine:8080/ws',
    create: (url) => {
      const s = new FakeWebSocket(url);
      sockets.push(s);
      return s;
    },
    random: () => 0,
    callTimeoutMs: 1000,
    minBackoffMs: 100,
    maxBackoffMs: 800,
    idleTimeoutMs: 5000,
    ...opts,
  });
  return t;
}

const last = () => sockets[sockets.length - 1];

beforeEach(() => {
  vi.useFakeTimers();
  sockets = [];
});
afterEach(() => {
  t?.close();
  vi.useRealTimers();
});

describe('WebSocketTransport calls', () => {
  it('sends numbered requests and matches replies by id, in any order', async () => {
    make();
    last().open();
    const a = t.call('Model');
    const b = t.call('Snapshot', 1, 'x');
    expect(last().sent).toEqual([
      { id: 1, method: 'Model', params: [] },
      { id: 2, method: 'Snapshot', params: [1, 'x'] },
    ]);
    last().serverSend({ id: 2, result: [{ t: 'a' }] });
    last().serverSend({ id: 1, result: { site: 'S' } });
    await expect(a).resolves.toEqual({ site: 'S' });
    await expect(b).resolves.toEqual([{ t: 'a' }]);
  });

  it('rejects on an error reply with the method name and message', async () => {
    make();
    last().open();
    const p = t.call('Ready', { units: 1 });
    last().serverSend({ id: 1, error: 'no such thing' });
    await expect(p).rejects.toThrow('Ready: no such thing');
  });

  it('resolves null when the result is missing (a null-returning method)', async () => {
    make();
    last().open();
    const p = t.call('Ready', {});
    last().serverSend({ id: 1 });
    await expect(p).resolves.toBeNull();
  });

  it('queues calls made before the socket opens and sends them on open', async () => {
    make();
    const p = t.call('Model');
    expect(last().sent).toHaveLength(0);
    last().open();
    expect(last().sent).toEqual([{ id: 1, method: 'Model', params: [] }]);
    last().serverSend({ id: 1, result: 42 });
    await expect(p).resolves.toBe(42);
  });

  it('times out a call that gets no reply, and ignores the late reply', async () => {
    make();
    last().open();
    const p = t.call('Model');
    const seen = expect(p).rejects.toThrow(/Model: no reply from Minebrain within 1000 ms/);
    vi.advanceTimersByTime(1001);
    await seen;
    expect(() => last().serverSend({ id: 1, result: 1 })).not.toThrow();
  });

  it('ignores garbage frames', () => {
    make();
    last().open();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(() => last().serverSend('not json{')).not.toThrow();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});

describe('WebSocketTransport events', () => {
  it('dispatches events to their handlers and stops after unsubscribe', () => {
    make();
    last().open();
    const tags = vi.fn();
    const status = vi.fn();
    const off = t.on('tags', tags);
    t.on('status', status);
    last().serverSend({ event: 'tags', data: [{ t: 'A', v: 1, q: 0, ts: 1, st: 1 }] });
    last().serverSend({ event: 'status', data: { now: 5, connections: [] } });
    expect(tags).toHaveBeenCalledWith([{ t: 'A', v: 1, q: 0, ts: 1, st: 1 }]);
    expect(status).toHaveBeenCalledWith({ now: 5, connections: [] });
    off();
    last().serverSend({ event: 'tags', data: [] });
    expect(tags).toHaveBeenCalledTimes(1);
  });

  it('keeps delivering to other handlers when one throws', () => {
    make();
    last().open();
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const good = vi.fn();
    t.on('tags', () => {
      throw new Error('boom');
    });
    t.on('tags', good);
    last().serverSend({ event: 'tags', data: [] });
    expect(good).toHaveBeenCalledTimes(1);
    err.mockRestore();
  });
});

describe('WebSocketTransport reconnect', () => {
  it('reports lost, rejects in-flight calls, reconnects with growing backoff, then reports reconnected', async () => {
    make();
    const states: LinkInfo[] = [];
    t.onConnection((i) => states.push(i));
    last().open();
    const inflight = t.call('Snapshot');
    const rejected = expect(inflight).rejects.toThrow('Snapshot: connection to Minebrain lost');
    last().drop(1006, 'server went away');
    await rejected;
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'lost']);
    expect(states[2].error).toBe('server went away');

    // First retry after 100 ms; it fails; the next waits 200 ms.
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    last().drop();
    vi.advanceTimersByTime(199);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);

    // A call made while down waits for the new socket.
    const queued = t.call('Model');
    last().open();
    expect(states[states.length - 1]).toEqual({ state: 'open', reconnected: true });
    expect(last().sent).toEqual([{ id: 2, method: 'Model', params: [] }]);
    last().serverSend({ id: 2, result: 'ok' });
    await expect(queued).resolves.toBe('ok');
  });

  it('caps the backoff and resets it after a successful open', () => {
    make();
    for (let i = 0; i < 6; i++) {
      last().drop();
      vi.advanceTimersByTime(800);
    }
    const n = sockets.length;
    expect(n).toBe(7); // every retry within the 800 ms cap
    last().open();
    last().drop();
    vi.advanceTimersByTime(100);
    expect(sockets.length).toBe(n + 1);
  });

  it('treats a silent socket as dead and reconnects', () => {
    make();
    const states: string[] = [];
    t.onConnection((i) => states.push(i.state));
    last().open();
    vi.advanceTimersByTime(4000);
    last().serverSend({ event: 'status', data: {} }); // any message resets the watchdog
    vi.advanceTimersByTime(4000);
    expect(states).toEqual(['connecting', 'open']);
    vi.advanceTimersByTime(1001);
    expect(states).toEqual(['connecting', 'open', 'lost']);
    expect(sockets[0].closedByClient).toBe(true);
    vi.advanceTimersByTime(100);
    expect(sockets).toHaveLength(2);
  });

  it('stops reconnecting after close()', async () => {
    make();
    const p = t.call('Model');
    t.close();
    await expect(p).rejects.toThrow('transport closed');
    vi.advanceTimersByTime(10_000);
    expect(sockets).toHaveLength(1);
    await expect(t.call('Model')).rejects.toThrow('transport closed');
  });

  it('reports a failure to create the socket as lost and retries', () => {
    let n = 0;
    const states: LinkInfo[] = [];
    t = new WebSocketTransport({
      url: 'ws://x/ws',
      random: () => 0,
      minBackoffMs: 50,
      create: (url) => {
        n++;
        if (n === 1) throw new Error('bad url');
        const s = new FakeWebSocket(url);
        sockets.push(s);
        return s;
      },
    });
    t.onConnection((i) => states.push(i));
    expect(states[0].state).toBe('lost');
    expect(states[0].error).toMatch(/bad url/);
    vi.advanceTimersByTime(50);
    expect(sockets).toHaveLength(1);
  });
});

describe('WebSocketTransport session end', () => {
  it('stops for good on close code 4401 and reports ended; other closes still reconnect', async () => {
    make();
    const infos: LinkInfo[] = [];
    t.onConnection((i) => infos.push(i));
    last().open();
    last().drop(1006);
    vi.advanceTimersByTime(200);
    expect(sockets).toHaveLength(2);
    last().open();
    const p = t.call('Model');
    last().drop(4401, 'logged out');
    await expect(p).rejects.toThrow(/session ended/);
    expect(infos[infos.length - 1]).toEqual({ state: 'lost', error: 'session ended: logged out', ended: true });
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(2);
    await expect(t.call('Model')).rejects.toThrow('transport closed');
  });
});
