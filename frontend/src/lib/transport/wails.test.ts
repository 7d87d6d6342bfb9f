import { describe, expect, it, vi } from 'vitest';
import { WailsTransport } from './wails';

describe('WailsTransport', () => {
  it('calls the bound method with the parameters', async () => {
    const Model = vi.fn(async () => ({ site: 'S', areas: [] }));
    const Ready = vi.fn(async () => null);
    const t = new WailsTransport({ go: { desktop: { App: { Model, Ready } } } });
    await expect(t.call('Model')).resolves.toEqual({ site: 'S', areas: [] });
    await t.call('Ready', { units: 3, values: 9 });
    expect(Ready).toHaveBeenCalledWith({ units: 3, values: 9 });
  });

  it('rejects for an unknown method and turns string rejections into Errors', async () => {
    const Model = vi.fn(() => Promise.reject('engine not running'));
    const t = new WailsTransport({ go: { desktop: { App: { Model } } } });
    await expect(t.call('Nope')).rejects.toThrow('the desktop face has no method Nope');
    await expect(t.call('Model')).rejects.toThrow('Model: engine not running');
  });

  it('subscribes with EventsOn and unsubscribes with the function it returns', () => {
    const off = vi.fn();
    let cb: ((d: unknown) => void) | undefined;
    const EventsOn = vi.fn((_name: string, f: (d: unknown) => void) => {
      cb = f;
      return off;
    });
    const t = new WailsTransport({ runtime: { EventsOn } });
    const h = vi.fn();
    const unsub = t.on('tags', h);
    expect(EventsOn).toHaveBeenCalledWith('tags', expect.any(Function));
    cb!([{ t: 'A' }]);
    expect(h).toHaveBeenCalledWith([{ t: 'A' }]);
    unsub();
    expect(off).toHaveBeenCalled();
  });
});
