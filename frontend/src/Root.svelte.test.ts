// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { FakeAuth, cleanup, click, connectTo, fakeEngine, mountRoot, q, text, type, until } from './lib/test-app';
import { engineConnector } from './lib/engine-link';
import { WebSocketTransport } from './lib/transport/websocket';
import { FakeWebSocket } from './lib/transport/fake-websocket';
import { SESSION_ENDED } from './lib/account.svelte';

afterEach(cleanup);

function login(name: string, password: string) {
  type('[data-testid="login-name"]', name);
  type('[data-testid="login-password"]', password);
  click('[data-testid="login-submit"]');
}

describe('login gate', () => {
  it('shows the login page and opens no engine link before a login; then the app with user, role and Log out', async () => {
    const auth = new FakeAuth();
    auth.passwords.ana = { password: 's3cret!', role: 'operator' };
    const transport = fakeEngine();
    const { account } = await mountRoot({ auth, transport });
    expect(q('[data-testid="login-page"]')).not.toBeNull();
    expect(q('[data-testid="header"]')).toBeNull();
    expect(q('[data-testid="login-password2"]')).toBeNull();
    expect(transport.calls).toEqual([]);

    login('ana', 's3cret!');
    await until(() => expect(q('[data-testid="header"]')).not.toBeNull());
    expect(auth.calls.find((c) => c.method === 'login')!.args).toEqual(['ana', 's3cret!']);
    expect(text('[data-testid="user-name"]')).toContain('ana');
    expect(text('[data-testid="user-role"]')).toBe('operator');
    await until(() => expect(transport.count('Model')).toBe(1));
    expect(q('[data-testid="alarm-banner"]')).not.toBeNull();
    expect(q('[data-testid="nav-users"]')).toBeNull(); // operators do not manage users

    click('[data-testid="logout"]');
    await until(() => expect(q('[data-testid="login-page"]')).not.toBeNull());
    expect(auth.calls.find((c) => c.method === 'logout')!.args).toEqual(['tok']);
    expect(account.link).toBeNull();
    expect(text('[data-testid="login-error"]')).toBe('');
  });

  it("shows the server's refusal and stays on the login page", async () => {
    const auth = new FakeAuth();
    auth.passwords.ana = { password: 'right', role: 'operator' };
    await mountRoot({ auth });
    login('ana', 'wrong');
    await until(() => expect(text('[data-testid="login-error"]')).toBe('wrong user name or password'));
    expect(q('[data-testid="header"]')).toBeNull();

    auth.loginError = 'too many failed logins; try again after 12:04:05';
    login('ana', 'right');
    await until(() => expect(text('[data-testid="login-error"]')).toBe('too many failed logins; try again after 12:04:05'));
  });

  it('asks for the first administrator when setupNeeded, with a password confirmation', async () => {
    const auth = new FakeAuth();
    auth.state = { user: null, setupNeeded: true, csrf: '' };
    await mountRoot({ auth });
    expect(q('[data-testid="setup-page"]')).not.toBeNull();
    type('[data-testid="login-name"]', 'boss');
    type('[data-testid="login-password"]', 'one-long-password');
    type('[data-testid="login-password2"]', 'another-password');
    click('[data-testid="login-submit"]');
    expect(text('[data-testid="login-error"]')).toBe('The two passwords differ.');
    expect(auth.calls.some((c) => c.method === 'setup')).toBe(false);

    type('[data-testid="login-password2"]', 'one-long-password');
    click('[data-testid="login-submit"]');
    await until(() => expect(q('[data-testid="header"]')).not.toBeNull());
    expect(auth.calls.find((c) => c.method === 'setup')!.args).toEqual(['boss', 'one-long-password']);
    expect(text('[data-testid="user-role"]')).toBe('admin');
    expect(q('[data-testid="nav-users"]')).not.toBeNull();
  });

  it('goes straight to the app when a session exists (cookie, wall display)', async () => {
    await mountRoot({ user: { name: 'wall-display', role: 'viewer' } });
    expect(q('[data-testid="header"]')).not.toBeNull();
    expect(text('[data-testid="user-role"]')).toBe('viewer');
  });

  it('returns to the login page with a message when the WebSocket closes with 4401', async () => {
    const sockets: FakeWebSocket[] = [];
    const connect = engineConnector(
      (csrf) =>
        new WebSocketTransport({
          url: `ws://mine/ws?csrf=${csrf}`,
          create: (u) => {
            const s = new FakeWebSocket(u);
            sockets.push(s);
            return s;
          },
          random: () => 0,
        }),
      false,
    );
    const auth = new FakeAuth();
    auth.passwords.ana = { password: 'pw', role: 'operator' };
    await mountRoot({ auth, connect });
    login('ana', 'pw');
    await until(() => expect(q('[data-testid="header"]')).not.toBeNull());
    expect(sockets).toHaveLength(1);
    expect(sockets[0].url).toBe('ws://mine/ws?csrf=tok');
    sockets[0].open();
    flushSync();
    auth.state = { user: null, setupNeeded: false, csrf: '' }; // the server logged us out
    sockets[0].drop(4401, 'logged out');
    await until(() => expect(q('[data-testid="login-page"]')).not.toBeNull());
    expect(text('[data-testid="login-error"]')).toBe(SESSION_ENDED);
    expect(q('[data-testid="header"]')).toBeNull();
    // No reconnect after the session ended.
    await new Promise((r) => setTimeout(r, 700));
    expect(sockets).toHaveLength(1);

    // Logging in again opens a new link.
    login('ana', 'pw');
    await until(() => expect(q('[data-testid="header"]')).not.toBeNull());
    expect(sockets).toHaveLength(2);
  });

  it('returns to the login when the desktop face says the window session ended', async () => {
    const auth = new FakeAuth();
    auth.passwords.ana = { password: 'pw', role: 'operator' };
    const transport = fakeEngine();
    const { account } = await mountRoot({ auth, transport, connect: engineConnector(() => transport, false) });
    login('ana', 'pw');
    await until(() => expect(q('[data-testid="header"]')).not.toBeNull());
    auth.state = { user: null, setupNeeded: false, csrf: '' };
    transport.emit('session', { user: null, setupNeeded: false });
    await until(() => expect(q('[data-testid="login-page"]')).not.toBeNull());
    expect(text('[data-testid="login-error"]')).toBe(SESSION_ENDED);
    expect(account.link).toBeNull();
  });

  it('a wall display falls back to its viewer session when its session ends', async () => {
    const auth = new FakeAuth();
    const transport = fakeEngine();
    const { account } = await mountRoot({ auth, transport, user: { name: 'ana', role: 'operator' } });
    auth.state = { user: { name: 'wall-display', role: 'viewer' }, setupNeeded: false, csrf: '' };
    account.ended();
    await until(() => expect(text('[data-testid="user-role"]')).toBe('viewer'));
    expect(text('[data-testid="user-name"]')).toContain('wall-display');
  });

  it('a login creates a fresh session each time', async () => {
    const auth = new FakeAuth();
    auth.passwords.ana = { password: 'pw', role: 'engineer' };
    const transport = fakeEngine();
    const { account } = await mountRoot({ auth, transport, connect: connectTo(transport) });
    login('ana', 'pw');
    await until(() => expect(account.link).not.toBeNull());
    const first = account.link!.session;
    click('[data-testid="logout"]');
    await until(() => expect(q('[data-testid="login-page"]')).not.toBeNull());
    login('ana', 'pw');
    await until(() => expect(q('[data-testid="header"]')).not.toBeNull());
    expect(account.link!.session).not.toBe(first);
  });
});
