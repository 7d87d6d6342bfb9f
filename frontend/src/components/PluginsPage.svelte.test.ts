// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { cleanup, click, fakeEngine, mountRoot, q, qa, text, until, type Answers } from '../lib/test-app';
import type { AvailablePlugin, PluginStatus, Role } from '../lib/types';

afterEach(cleanup);

const ms = 1_000_000; // one millisecond in nanoseconds (Go time.Duration)

function status(id: string, over: Partial<PluginStatus> = {}): PluginStatus {
  return {
    id,
    version: '1.2.0',
    manifest: `/var/lib/minebrain/plugins/${id}/plugin.toml`,
    sha256: 'abc',
    state: 'running',
    mode: 'shadow',
    ticks: 1234,
    tickLast: 420_000, // 420 µs
    tickAvg: 2.5 * ms,
    tickMax: 12 * ms,
    restarts: 0,
    reads: ['Crushing.CR01.PowerKW', 'Crushing.CR01.FeedRate'],
    writes: [{ tag: 'Crushing.CR01.FeedRateSP', min: 200, max: 1200, maxRate: 5 }],
    recentWrites: [
      {
        time: new Date(Date.now() - 5000).toISOString(),
        tag: 'Crushing.CR01.FeedRateSP',
        value: 850,
        current: 800,
        mode: 'shadow',
        outcome: 'suppressed',
      },
    ],
    logDropped: 3,
    memoryBytes: 4 * 1024 * 1024,
    ...over,
  };
}

/** A fake engine holding plugins; actions change them like the engine would. */
function pluginEngine(initial: PluginStatus[], available: AvailablePlugin[] = [], extra: Answers = {}): Answers {
  const plugins = new Map(initial.map((p) => [p.id, p]));
  return {
    Plugins: () => [...plugins.values()].map((p) => ({ ...p })),
    AvailablePlugins: () => available.map((a) => ({ ...a, loaded: a.loaded || plugins.has(a.id) })),
    SetPluginMode: (id, mode) => {
      const p = plugins.get(String(id));
      if (!p) throw new Error(`SetPluginMode: plugin ${String(id)}: no such plugin`);
      plugins.set(p.id, { ...p, mode: mode as PluginStatus['mode'], state: mode === 'off' ? 'off' : 'running' });
      return null;
    },
    ReloadPlugin: () => null,
    RemovePlugin: (id) => {
      plugins.delete(String(id));
      return null;
    },
    LoadPlugin: (path) => {
      const a = available.find((x) => x.path === path);
      if (!a) throw new Error(`LoadPlugin: ${String(path)}: no such file`);
      const p = status(a.id, { recentWrites: [], writes: [] });
      plugins.set(a.id, p);
      return p;
    },
    ...extra,
  };
}

async function boot(role: Role, answers: Answers) {
  const transport = fakeEngine(answers);
  const booted = await mountRoot({ transport, user: { name: 'u', role } });
  window.location.hash = '#/plugins';
  await until(() => expect(q('[data-testid="plugins-page"]')).not.toBeNull());
  return booted;
}

const card = (id: string) => `[data-testid="plugin-card"][data-plugin-id="${id}"]`;

describe('plugins page', () => {
  it('is linked from the header for everyone', async () => {
    await boot('viewer', pluginEngine([]));
    expect(q<HTMLAnchorElement>('[data-testid="nav-plugins"]')?.getAttribute('href')).toBe('#/plugins');
    expect(q('[data-testid="nav-plugins"]')?.getAttribute('aria-current')).toBe('page');
    await until(() => expect(text('[data-testid="plugins-empty"]')).toBe('No plugin is loaded.'));
  });

  it('shows state, mode, errors, statistics, grants and recent writes', async () => {
    const restart = new Date(Date.now() + 30_000).toISOString();
    const longError = 'mb_tick: wasm error: out of bounds memory access\nwasm stack trace:\n\tfeeder.wasm.mb_tick(i64) i32';
    await boot(
      'engineer',
      pluginEngine([
        status('feeder'),
        status('pumps', {
          state: 'faulted',
          mode: 'auto',
          lastError: longError,
          nextRestart: restart,
          restarts: 4,
          reads: null as unknown as string[],
          writes: null as unknown as PluginStatus['writes'],
          recentWrites: [
            { time: new Date().toISOString(), tag: 'Water.P1.SpeedSP', value: 70, mode: 'auto', outcome: 'refused: above max 60' },
            { time: new Date().toISOString(), tag: 'Water.P1.SpeedSP', value: 55, current: 50, mode: 'auto', outcome: 'done' },
          ],
        }),
      ]),
    );
    await until(() => expect(qa('[data-testid="plugin-card"]')).toHaveLength(2));

    const feeder = q(card('feeder'))!;
    expect(feeder.dataset.state).toBe('running');
    expect(feeder.dataset.mode).toBe('shadow');
    expect(text(`${card('feeder')} [data-testid="plugin-state"]`)).toBe('RUNNING');
    expect(text(`${card('feeder')} [data-testid="plugin-mode"]`)).toBe('SHADOW');
    expect(text(`${card('feeder')} [data-testid="plugin-version"]`)).toBe('1.2.0');
    expect(q(`${card('feeder')} [data-testid="plugin-error"]`)).toBeNull();
    expect(q(`${card('feeder')} [data-testid="plugin-next-restart"]`)).toBeNull();
    expect(text(`${card('feeder')} [data-testid="plugin-ticks"]`)).toBe('1234');
    expect(text(`${card('feeder')} [data-testid="plugin-tick"]`)).toBe('last 420 µs · avg 2.50 ms · max 12.0 ms');
    expect(text(`${card('feeder')} [data-testid="plugin-log-dropped"]`)).toBe('3');
    expect(text(`${card('feeder')} [data-testid="plugin-memory"]`)).toBe('4.00 MiB');
    // Reads: a collapsible list.
    const reads = q<HTMLDetailsElement>(`${card('feeder')} [data-testid="plugin-reads"]`)!;
    expect(reads.tagName).toBe('DETAILS');
    expect(reads.open).toBe(false);
    expect(qa(`${card('feeder')} [data-testid="plugin-read"]`).map((e) => e.textContent)).toEqual([
      'Crushing.CR01.PowerKW',
      'Crushing.CR01.FeedRate',
    ]);
    const grant = text(`${card('feeder')} [data-testid="plugin-grant-write"]`);
    for (const s of ['Crushing.CR01.FeedRateSP', '200', '1200', '5 /s']) expect(grant).toContain(s);
    // SHADOW: the suppressed request shows what it would have done.
    const w = q(`${card('feeder')} [data-testid="plugin-write"]`)!;
    expect(w.dataset.outcome).toBe('suppressed');
    const wt = w.textContent!.replace(/\s+/g, ' ');
    for (const s of ['Crushing.CR01.FeedRateSP', '850', '800', 'SHADOW', 'suppressed', 'would have written 850']) expect(wt).toContain(s);

    const pumps = q(card('pumps'))!;
    expect(pumps.dataset.state).toBe('faulted');
    expect(pumps.dataset.mode).toBe('auto');
    expect(text(`${card('pumps')} [data-testid="plugin-state"]`)).toBe('FAULTED');
    expect(q(`${card('pumps')} [data-testid="plugin-error"] pre`)!.textContent).toBe(longError);
    expect(text(`${card('pumps')} [data-testid="plugin-next-restart"]`)).toMatch(/^Restart at .+ \(in (29|30)s\)$/);
    expect(text(`${card('pumps')} [data-testid="plugin-restarts"]`)).toBe('4');
    expect(text(`${card('pumps')} [data-testid="plugin-reads"] summary`)).toBe('Reads 0 tags');
    const outcomes = qa(`${card('pumps')} [data-testid="plugin-write"]`).map((e) => e.dataset.outcome);
    expect(outcomes).toEqual(['refused', 'done']);
    expect(qa(`${card('pumps')} [data-testid="plugin-write"]`)[0].textContent).toContain('refused: above max 60');
  });

  it('switches to AUTO only after the confirmation dialog', async () => {
    const { transport } = await boot('engineer', pluginEngine([status('feeder')]));
    await until(() => expect(q(card('feeder'))).not.toBeNull());
    expect(q<HTMLButtonElement>(`${card('feeder')} [data-testid="plugin-mode-shadow"]`)!.disabled).toBe(true);
    expect(q(`${card('feeder')} [data-testid="plugin-mode-shadow"]`)!.getAttribute('aria-pressed')).toBe('true');

    click(`${card('feeder')} [data-testid="plugin-mode-auto"]`);
    const dialog = q('[data-testid="plugin-auto-dialog"]')!;
    expect(dialog).not.toBeNull();
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(text('[data-testid="plugin-auto-id"]')).toBe('feeder');
    const row = text('[data-testid="plugin-auto-write"]');
    for (const s of ['Crushing.CR01.FeedRateSP', '200', '1200', '5 /s']) expect(row).toContain(s);
    expect(transport.count('SetPluginMode')).toBe(0);
    // Focus starts on Cancel and Tab stays inside.
    expect(document.activeElement).toBe(q('[data-testid="plugin-auto-cancel"]'));
    dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(q('[data-testid="plugin-auto-confirm"]'));

    click('[data-testid="plugin-auto-confirm"]');
    await until(() => expect(q(card('feeder'))?.dataset.mode).toBe('auto'));
    expect(transport.calls.find((c) => c.method === 'SetPluginMode')!.params).toEqual(['feeder', 'auto']);
    expect(q('[data-testid="plugin-auto-dialog"]')).toBeNull();
  });

  it('Escape cancels the AUTO dialog without a call and stays on the page', async () => {
    const { transport } = await boot('engineer', pluginEngine([status('feeder')]));
    await until(() => expect(q(card('feeder'))).not.toBeNull());
    click(`${card('feeder')} [data-testid="plugin-mode-auto"]`);
    const dialog = q('[data-testid="plugin-auto-dialog"]')!;
    dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }));
    flushSync();
    expect(q('[data-testid="plugin-auto-dialog"]')).toBeNull();
    expect(transport.count('SetPluginMode')).toBe(0);
    expect(q('[data-testid="plugins-page"]')).not.toBeNull();
    expect(window.location.hash).toBe('#/plugins');
  });

  it('switches OFF and SHADOW at once', async () => {
    const { transport } = await boot('engineer', pluginEngine([status('feeder')]));
    await until(() => expect(q(card('feeder'))).not.toBeNull());
    click(`${card('feeder')} [data-testid="plugin-mode-off"]`);
    await until(() => expect(q(card('feeder'))?.dataset.state).toBe('off'));
    expect(transport.calls.find((c) => c.method === 'SetPluginMode')!.params).toEqual(['feeder', 'off']);
    expect(text(`${card('feeder')} [data-testid="plugin-state"]`)).toBe('OFF');
    expect(q('[data-testid="plugin-auto-dialog"]')).toBeNull();
  });

  for (const role of ['viewer', 'operator'] as Role[]) {
    it(`gives a ${role} no enabled action`, async () => {
      const { transport } = await boot(
        role,
        pluginEngine([status('feeder')], [{ path: '/p/new/plugin.toml', id: 'new', loaded: false }]),
      );
      await until(() => expect(q(card('feeder'))).not.toBeNull());
      await until(() => expect(q('[data-testid="plugin-load"]')).not.toBeNull());
      const actions = qa<HTMLButtonElement>(
        '[data-testid^="plugin-mode-"], [data-testid="plugin-reload"], [data-testid="plugin-remove"], [data-testid="plugin-load"]',
      );
      expect(actions).toHaveLength(6);
      for (const b of actions) {
        expect(b.disabled).toBe(true);
        expect(b.title).toContain('needs an engineer');
      }
      for (const b of actions) click(b);
      expect(q('[data-testid="plugin-auto-dialog"]')).toBeNull();
      for (const m of ['SetPluginMode', 'ReloadPlugin', 'RemovePlugin', 'LoadPlugin']) expect(transport.count(m)).toBe(0);
      expect(q('[data-testid="plugins-readonly"]')).not.toBeNull();
    });
  }

  it('loads an available plugin, lists manifest errors, reloads and removes (with a confirm step)', async () => {
    const { transport } = await boot(
      'engineer',
      pluginEngine(
        [status('feeder')],
        [
          { path: '/p/feeder/plugin.toml', id: 'feeder', loaded: true },
          { path: '/p/new/plugin.toml', id: 'new', loaded: false },
          { path: '/p/broken/plugin.toml', id: '', loaded: false, error: 'plugin.toml: line 3: unknown key "tik"' },
        ],
      ),
    );
    await until(() => expect(qa('[data-testid="plugin-available"]')).toHaveLength(2));
    expect(qa('[data-testid="plugin-available"]').map((e) => e.dataset.path)).toEqual(['/p/new/plugin.toml', '/p/broken/plugin.toml']);
    expect(text('[data-path="/p/broken/plugin.toml"] [data-testid="plugin-manifest-error"]')).toContain('unknown key "tik"');

    click('[data-path="/p/new/plugin.toml"] [data-testid="plugin-load"]');
    await until(() => expect(q(card('new'))).not.toBeNull());
    expect(transport.calls.find((c) => c.method === 'LoadPlugin')!.params).toEqual(['/p/new/plugin.toml']);
    await until(() => expect(qa('[data-testid="plugin-available"]')).toHaveLength(1));

    const before = transport.count('Plugins');
    click(`${card('feeder')} [data-testid="plugin-reload"]`);
    await until(() => expect(transport.calls.find((c) => c.method === 'ReloadPlugin')?.params).toEqual(['feeder']));
    await until(() => expect(transport.count('Plugins')).toBeGreaterThan(before));

    click(`${card('feeder')} [data-testid="plugin-remove"]`);
    expect(transport.count('RemovePlugin')).toBe(0);
    expect(q(`${card('feeder')} [data-testid="plugin-remove-confirm"]`)).not.toBeNull();
    click(`${card('feeder')} [data-testid="plugin-remove-cancel"]`);
    expect(transport.count('RemovePlugin')).toBe(0);
    click(`${card('feeder')} [data-testid="plugin-remove"]`);
    click(`${card('feeder')} [data-testid="plugin-remove-confirm"]`);
    await until(() => expect(q(card('feeder'))).toBeNull());
    expect(transport.calls.find((c) => c.method === 'RemovePlugin')!.params).toEqual(['feeder']);
    expect(q(card('new'))).not.toBeNull();
  });

  it('shows an action error inline on the card, and a refused load on its row', async () => {
    await boot(
      'engineer',
      pluginEngine([status('feeder'), status('pumps')], [{ path: '/p/x/plugin.toml', id: 'x', loaded: false }], {
        ReloadPlugin: () => Promise.reject(new Error('ReloadPlugin: plugin feeder: manifest: writes: min above max')),
        SetPluginMode: () => Promise.reject(new Error('SetPluginMode: needs the engineer role')),
        LoadPlugin: () => Promise.reject(new Error('LoadPlugin: abi version 2 not supported')),
      }),
    );
    await until(() => expect(qa('[data-testid="plugin-card"]')).toHaveLength(2));
    click(`${card('feeder')} [data-testid="plugin-reload"]`);
    await until(() => expect(text(`${card('feeder')} [data-testid="plugin-action-error"]`)).toContain('min above max'));
    expect(text(`${card('feeder')} [data-testid="plugin-action-error"]`)).toMatch(/^Reload: /);
    expect(q(`${card('pumps')} [data-testid="plugin-action-error"]`)).toBeNull();

    click(`${card('pumps')} [data-testid="plugin-mode-auto"]`);
    click('[data-testid="plugin-auto-confirm"]');
    await until(() => expect(text(`${card('pumps')} [data-testid="plugin-action-error"]`)).toContain('needs the engineer role'));
    expect(q('[data-testid="plugin-auto-dialog"]')).toBeNull();
    expect(q(card('pumps'))?.dataset.mode).toBe('shadow');
    // The error survives the next poll.
    expect(text(`${card('feeder')} [data-testid="plugin-action-error"]`)).toContain('min above max');

    click('[data-testid="plugin-load"]');
    await until(() => expect(text('[data-testid="plugin-load-error"]')).toContain('abi version 2 not supported'));
  });

  it('shows a failed read and polls Plugins every 2 s while open', async () => {
    let fail = true;
    const { transport } = await boot(
      'viewer',
      pluginEngine([status('feeder')], [], {
        Plugins: () => (fail ? Promise.reject(new Error('Plugins: engine busy')) : [status('feeder')]),
      }),
    );
    await until(() => expect(text('[data-testid="plugins-error"]')).toContain('engine busy'));
    fail = false;
    await vi.waitFor(
      () => {
        flushSync();
        expect(q(card('feeder'))).not.toBeNull();
      },
      { timeout: 3500, interval: 50 },
    );
    expect(q('[data-testid="plugins-error"]')).toBeNull();
    const n = transport.count('Plugins');
    window.location.hash = '#/';
    await until(() => expect(q('[data-testid="plugins-page"]')).toBeNull());
    await new Promise((r) => setTimeout(r, 2300));
    expect(transport.count('Plugins')).toBe(n);
  }, 10_000);
});
