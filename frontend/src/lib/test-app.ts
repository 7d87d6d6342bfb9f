// Test helpers (not a test file): mount the whole app behind the login gate on a fake engine.
import { expect, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import Root from '../Root.svelte';
import { Account, type Connect } from './account.svelte';
import type { AuthClient, AuthState } from './auth';
import { FakeTransport } from './fake-transport';
import { LiveStore } from './live.svelte';
import { Router } from './router.svelte';
import { Session } from './session.svelte';
import type { AlarmSummary, AlarmView, Model, Role, User } from './types';

export const testModel: Model = {
  site: 'Test mine',
  areas: [
    {
      name: 'Crushing',
      units: [
        {
          id: 'Crushing.CR01',
          area: 'Crushing',
          name: 'CR01',
          displayName: 'Primary crusher',
          kind: 'Crusher',
          key: [],
          signals: [
            { tag: 'Crushing.CR01.RunState', name: 'RunState', description: 'Run state', dataType: 'Int32', writable: false },
            { tag: 'Crushing.CR01.FeedRateSP', name: 'FeedRateSP', description: 'Feed setpoint', unit: 't/h', low: 0, high: 1500, dataType: 'Double', writable: true },
          ],
        },
      ],
    },
  ],
};

export function emptySummary(): AlarmSummary {
  return { counts: { critical: 0, high: 0, medium: 0, low: 0, unacknowledged: 0, total: 0 }, newest: null, active: [], hidden: [], floods: [] };
}

export function alarm(over: Partial<AlarmView> & { id: string }): AlarmView {
  return {
    tag: 'Crushing.CR01.Temp',
    area: 'Crushing',
    unit: 'Crushing.CR01',
    priority: 'high',
    kind: 'HI',
    message: 'Bearing temperature high',
    state: 'unacknowledged',
    active: true,
    value: 91.5,
    limit: 85,
    since: new Date(Date.now() - 60_000).toISOString(),
    raised: new Date(Date.now() - 60_000).toISOString(),
    ...over,
  };
}

/** A summary whose counts match its lists. */
export function summaryOf(active: AlarmView[], hidden: AlarmView[] = [], floods: AlarmSummary['floods'] = []): AlarmSummary {
  const c = emptySummary().counts;
  for (const a of active) c[a.priority]++;
  c.unacknowledged = active.filter((a) => a.state === 'unacknowledged' || a.state === 'rtn-unacknowledged').length;
  c.total = active.length;
  const newest = [...active].sort((a, b) => Date.parse(b.raised ?? b.since) - Date.parse(a.raised ?? a.since))[0] ?? null;
  return { counts: c, newest, active, hidden, floods };
}

export type Answers = Record<string, (...p: unknown[]) => unknown>;

export function fakeEngine(answers: Answers = {}): FakeTransport {
  const now = Date.now();
  return new FakeTransport({
    Model: () => testModel,
    Snapshot: () => [],
    Status: () => ({ now, connections: [{ name: 'sim', endpoint: 'opc.tcp://x', state: 'connected', lastError: '', lastDataAt: now, items: 1, rate: 1 }] }),
    Ready: () => null,
    Alarms: () => emptySummary(),
    ...answers,
  });
}

/** An AuthClient whose answers the test sets; records calls. */
export class FakeAuth implements AuthClient {
  calls: { method: string; args: unknown[] }[] = [];
  state: AuthState = { user: null, setupNeeded: false, csrf: '' };
  /** Password each user logs in with. */
  passwords: Record<string, { password: string; role: Role }> = {};
  loginError: string | null = null;

  async session(): Promise<AuthState> {
    this.calls.push({ method: 'session', args: [] });
    return this.state;
  }
  async login(name: string, password: string): Promise<AuthState> {
    this.calls.push({ method: 'login', args: [name, password] });
    if (this.loginError) throw new Error(this.loginError);
    const u = this.passwords[name];
    if (!u || u.password !== password) throw new Error('wrong user name or password');
    this.state = { user: { name, role: u.role }, setupNeeded: false, csrf: 'tok' };
    return this.state;
  }
  async setup(name: string, password: string): Promise<AuthState> {
    this.calls.push({ method: 'setup', args: [name, password] });
    this.state = { user: { name, role: 'admin' }, setupNeeded: false, csrf: 'tok' };
    return this.state;
  }
  async logout(csrf: string): Promise<void> {
    this.calls.push({ method: 'logout', args: [csrf] });
    this.state = { user: null, setupNeeded: false, csrf: '' };
  }
}

/** A Connect that puts a Session on the given transport (no clock timer, frame-free store). */
export function connectTo(transport: FakeTransport): Connect {
  return () => {
    const session = new Session(transport, { store: new LiveStore((cb) => queueMicrotask(cb)) });
    session.start();
    return { session, close: () => session.stop() };
  };
}

let mounted: Record<string, any> | undefined;

export function cleanup(): void {
  if (mounted) unmount(mounted);
  mounted = undefined;
  document.body.innerHTML = '';
  window.location.hash = '';
}

/** Mounts Root; with `user` the auth already has that session (no login page). */
export async function mountRoot(opts: { auth?: FakeAuth; transport?: FakeTransport; connect?: Connect; user?: User } = {}) {
  const auth = opts.auth ?? new FakeAuth();
  if (opts.user) auth.state = { user: opts.user, setupNeeded: false, csrf: 'tok' };
  const transport = opts.transport ?? fakeEngine();
  const account = new Account(auth, opts.connect ?? connectTo(transport));
  const router = new Router(window);
  const target = document.createElement('div');
  document.body.append(target);
  mounted = mount(Root, { target, props: { account, router } });
  await account.check();
  flushSync();
  return { auth, account, transport, router };
}

export async function until(check: () => void): Promise<void> {
  await vi.waitFor(() => {
    flushSync();
    check();
  });
}

export const q = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector<T>(sel);
export const qa = <T extends HTMLElement = HTMLElement>(sel: string) => [...document.querySelectorAll<T>(sel)];
export const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';

export function click(sel: string | HTMLElement): void {
  const el = typeof sel === 'string' ? q(sel) : sel;
  if (!el) throw new Error(`no ${String(sel)}`);
  el.click();
  flushSync();
}

export function type(sel: string | HTMLElement, value: string): void {
  const el = (typeof sel === 'string' ? q(sel) : sel) as HTMLInputElement | null;
  if (!el) throw new Error(`no ${String(sel)}`);
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

export function choose(sel: string | HTMLElement, value: string): void {
  const el = (typeof sel === 'string' ? q(sel) : sel) as HTMLSelectElement | null;
  if (!el) throw new Error(`no ${String(sel)}`);
  const opt = [...el.options].find((o) => o.value === value);
  if (!opt) throw new Error(`no option ${value} in ${String(sel)}`);
  for (const o of el.options) o.selected = o === opt;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
  flushSync();
}

export function submit(sel: string): void {
  const el = q(sel);
  if (!el) throw new Error(`no ${sel}`);
  el.click();
  flushSync();
}

export { expect };
