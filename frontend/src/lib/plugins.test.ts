import { describe, expect, it } from 'vitest';
import { FakeTransport } from './fake-transport';
import { formatBytes, formatDuration, formatNumber, outcomeKind, stateText } from './plugins';
import { PLUGINS_HREF, parseHash } from './router.svelte';
import { EngineApi } from './transport/engine-api';

describe('plugin helpers', () => {
  it('formats tick times from nanoseconds', () => {
    expect(formatDuration(0)).toBe('0 µs');
    expect(formatDuration(1500)).toBe('1.50 µs');
    expect(formatDuration(420_000)).toBe('420 µs');
    expect(formatDuration(2_500_000)).toBe('2.50 ms');
    expect(formatDuration(12_000_000)).toBe('12.0 ms');
    expect(formatDuration(3_200_000_000)).toBe('3.20 s');
  });

  it('formats memory, limits, states and outcomes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(64 * 1024)).toBe('64.0 KiB');
    expect(formatBytes(16 * 1024 * 1024)).toBe('16.0 MiB');
    expect(formatNumber(1200)).toBe('1200');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(undefined)).toBe('—');
    expect(stateText('faulted')).toBe('FAULTED');
    expect(stateText('off')).toBe('OFF');
    expect(outcomeKind('refused: above max')).toBe('refused');
    expect(outcomeKind('timed out: no read-back')).toBe('timed out');
    expect(outcomeKind('suppressed')).toBe('suppressed');
  });

  it('routes #/plugins', () => {
    expect(parseHash(PLUGINS_HREF)).toEqual({ page: 'plugins' });
    expect(parseHash('#/plugins/')).toEqual({ page: 'plugins' });
    expect(parseHash('#/pluginsX')).toEqual({ page: 'overview' });
  });
});

describe('plugin engine calls', () => {
  it('fills the lists a Go nil slice leaves null and passes positional parameters', async () => {
    const t = new FakeTransport({
      Plugins: () => [{ id: 'a', version: '1', state: 'running', mode: 'shadow', reads: null, writes: null, recentWrites: null, ticks: 2 }],
      AvailablePlugins: () => null,
      LoadPlugin: () => ({ id: 'b', state: 'loading', mode: 'shadow' }),
      ReloadPlugin: () => null,
      RemovePlugin: () => null,
      SetPluginMode: () => null,
    });
    const api = new EngineApi(t);
    const [p] = await api.plugins();
    expect(p).toMatchObject({ id: 'a', reads: [], writes: [], recentWrites: [], ticks: 2, tickMax: 0, memoryBytes: 0 });
    expect(await api.availablePlugins()).toEqual([]);
    expect((await api.loadPlugin('/p/b.toml')).id).toBe('b');
    await api.reloadPlugin('a');
    await api.removePlugin('a');
    await api.setPluginMode('a', 'auto');
    expect(t.calls.map((c) => [c.method, ...c.params])).toEqual([
      ['Plugins'],
      ['AvailablePlugins'],
      ['LoadPlugin', '/p/b.toml'],
      ['ReloadPlugin', 'a'],
      ['RemovePlugin', 'a'],
      ['SetPluginMode', 'a', 'auto'],
    ]);
  });
});
