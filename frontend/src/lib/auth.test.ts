import { describe, expect, it, vi } from 'vitest';
import { WailsAuth, WebAuth, atLeast } from './auth';
import { webSocketUrl } from './transport/select';

function reply(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('WebAuth', () => {
  it('reads the session: a user with its CSRF token, or not logged in with setupNeeded', async () => {
    const fetcher = vi.fn(async () => reply(200, { user: { name: 'ana', role: 'operator' }, csrf: 'c1' }));
    await expect(new WebAuth(fetcher).session()).resolves.toEqual({ user: { name: 'ana', role: 'operator' }, setupNeeded: false, csrf: 'c1' });
    expect(fetcher).toHaveBeenCalledWith('/api/session', expect.objectContaining({ credentials: 'same-origin' }));

    const none = new WebAuth(async () => reply(200, { user: null, setupNeeded: true }));
    await expect(none.session()).resolves.toEqual({ user: null, setupNeeded: true, csrf: '' });
  });

  it('logs in with JSON and passes on the server error message', async () => {
    const fetcher = vi.fn(async (_url: string, init?: RequestInit) => {
      const b = JSON.parse(String(init!.body));
      if (b.password === 'pw') return reply(200, { user: { name: b.name, role: 'engineer' }, csrf: 'c2' });
      if (b.name === 'eve') return reply(403, { error: 'this user is disabled' });
      if (b.name === 'mallory') return reply(429, { error: 'too many failed logins; try again after 12:04:05' });
      return reply(401, { error: 'wrong user name or password' });
    });
    const auth = new WebAuth(fetcher);
    await expect(auth.login('ana', 'pw')).resolves.toEqual({ user: { name: 'ana', role: 'engineer' }, setupNeeded: false, csrf: 'c2' });
    const [url, init] = fetcher.mock.calls[0];
    expect(url).toBe('/api/login');
    expect(init).toMatchObject({ method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' } });
    expect(JSON.parse(String(init!.body))).toEqual({ name: 'ana', password: 'pw' });
    await expect(auth.login('ana', 'x')).rejects.toThrow('wrong user name or password');
    await expect(auth.login('eve', 'x')).rejects.toThrow('this user is disabled');
    await expect(auth.login('mallory', 'x')).rejects.toThrow('too many failed logins; try again after 12:04:05');
  });

  it('sets up the first admin at /api/setup and logs out with the CSRF header', async () => {
    const fetcher = vi.fn(async (url: string, _init?: RequestInit) =>
      url === '/api/logout' ? reply(204) : reply(200, { user: { name: 'boss', role: 'admin' }, csrf: 'c3' }),
    );
    const auth = new WebAuth(fetcher);
    await expect(auth.setup('boss', 'pw')).resolves.toMatchObject({ user: { name: 'boss', role: 'admin' } });
    expect(fetcher.mock.calls[0][0]).toBe('/api/setup');
    await auth.logout('c3');
    const [url, init] = fetcher.mock.calls[1];
    expect(url).toBe('/api/logout');
    expect(init).toMatchObject({ method: 'POST', headers: { 'X-CSRF-Token': 'c3', 'Content-Type': 'application/json' } });
  });
});

describe('WailsAuth', () => {
  it('calls the desktop bindings and turns their string errors into Errors', async () => {
    const App = {
      Session: vi.fn(async () => ({ user: null, setupNeeded: true })),
      Login: vi.fn(async (name: unknown, pw: unknown) => {
        if (pw !== 'pw') throw 'wrong user name or password';
        return { name, role: 'operator' };
      }),
      SetupFirstAdmin: vi.fn(async (name: unknown) => ({ name, role: 'admin' })),
      Logout: vi.fn(async () => null),
    };
    const auth = new WailsAuth({ go: { desktop: { App } } });
    await expect(auth.session()).resolves.toEqual({ user: null, setupNeeded: true, csrf: '' });
    await expect(auth.login('ana', 'pw')).resolves.toEqual({ user: { name: 'ana', role: 'operator' }, setupNeeded: false, csrf: '' });
    await expect(auth.login('ana', 'no')).rejects.toThrow('wrong user name or password');
    await expect(auth.setup('boss', 'pw')).resolves.toMatchObject({ user: { role: 'admin' } });
    await auth.logout();
    expect(App.Logout).toHaveBeenCalledOnce();
  });
});

describe('roles and the WebSocket URL', () => {
  it('orders roles viewer < operator < engineer < admin', () => {
    expect(atLeast('viewer', 'operator')).toBe(false);
    expect(atLeast('operator', 'operator')).toBe(true);
    expect(atLeast('admin', 'engineer')).toBe(true);
    expect(atLeast(undefined, 'operator')).toBe(false);
  });

  it('carries the CSRF token in the WebSocket URL', () => {
    const w = { location: { protocol: 'https:', host: 'mine:8443' } };
    expect(webSocketUrl(w, 'a b+c')).toBe('wss://mine:8443/ws?csrf=a%20b%2Bc');
    expect(webSocketUrl(w)).toBe('wss://mine:8443/ws');
  });
});
