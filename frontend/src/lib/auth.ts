import type { Role, User } from './types';
import type { WailsWindow } from './transport/wails';

// Logging in, per face. The web face talks to `minebrain serve`'s /api/session, /api/login,
// /api/logout and /api/setup (same origin, cookie session, JSON); the desktop face calls the
// Wails bindings Session, Login, Logout and SetupFirstAdmin. Neither sends who the user is to
// the engine afterwards: the face attaches the session's user to every call.

export interface AuthState {
  user: User | null;
  /** No users exist yet: the first administrator must be created. */
  setupNeeded: boolean;
  /** The web session's CSRF token (the WebSocket URL and POSTs carry it); "" on the desktop. */
  csrf: string;
}

export interface AuthClient {
  session(): Promise<AuthState>;
  login(name: string, password: string): Promise<AuthState>;
  setup(name: string, password: string): Promise<AuthState>;
  logout(csrf: string): Promise<void>;
}

const ROLES: Role[] = ['viewer', 'operator', 'engineer', 'admin'];

/** True when `role` may do what `needed` may (viewer < operator < engineer < admin). */
export function atLeast(role: Role | undefined, needed: Role): boolean {
  return ROLES.indexOf(role ?? 'viewer') >= ROLES.indexOf(needed);
}

export const ALL_ROLES = ROLES;

function toUser(u: any): User | null {
  if (!u || typeof u !== 'object' || typeof u.name !== 'string') return null;
  const role = ROLES.includes(u.role) ? (u.role as Role) : 'viewer';
  return { name: u.name, role };
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The web face: JSON over fetch, same origin, the session in an HttpOnly cookie. */
export class WebAuth implements AuthClient {
  constructor(private readonly fetcher: FetchLike = (i, init) => fetch(i, init)) {}

  async session(): Promise<AuthState> {
    const r = await this.fetcher('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const body = await json(r);
    // Not logged in is a 200 with user null (and whether the first administrator is needed).
    if (r.ok) return { user: toUser(body.user), setupNeeded: body.setupNeeded === true, csrf: String(body.csrf ?? '') };
    throw new Error(errorOf(body, r));
  }

  login(name: string, password: string): Promise<AuthState> {
    return this.enter('/api/login', name, password);
  }

  setup(name: string, password: string): Promise<AuthState> {
    return this.enter('/api/setup', name, password);
  }

  async logout(csrf: string): Promise<void> {
    const r = await this.fetcher('/api/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: '{}',
    });
    if (!r.ok) throw new Error(errorOf(await json(r), r));
  }

  private async enter(path: string, name: string, password: string): Promise<AuthState> {
    const r = await this.fetcher(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name, password }),
    });
    const body = await json(r);
    if (!r.ok) throw new Error(errorOf(body, r));
    const user = toUser(body.user);
    if (!user) throw new Error('Minebrain answered the login without a user');
    return { user, setupNeeded: false, csrf: String(body.csrf ?? '') };
  }
}

async function json(r: Response): Promise<any> {
  try {
    const t = await r.text();
    return t ? JSON.parse(t) : {};
  } catch {
    return {};
  }
}

function errorOf(body: any, r: Response): string {
  if (body && typeof body.error === 'string' && body.error) return body.error;
  return `Minebrain answered ${r.status}${r.statusText ? ` ${r.statusText}` : ''}`;
}

/** The desktop face: the Wails bindings on desktop.App. */
export class WailsAuth implements AuthClient {
  constructor(private readonly w: WailsWindow) {}

  private async call(method: string, ...args: unknown[]): Promise<any> {
    const fn = this.w.go?.desktop?.App?.[method];
    if (typeof fn !== 'function') throw new Error(`the desktop face has no method ${method}`);
    try {
      return await fn(...args);
    } catch (e) {
      throw e instanceof Error ? e : new Error(String(e));
    }
  }

  async session(): Promise<AuthState> {
    const r = await this.call('Session');
    return { user: toUser(r?.user), setupNeeded: r?.setupNeeded === true, csrf: '' };
  }

  async login(name: string, password: string): Promise<AuthState> {
    return this.entered(await this.call('Login', name, password));
  }

  async setup(name: string, password: string): Promise<AuthState> {
    return this.entered(await this.call('SetupFirstAdmin', name, password));
  }

  async logout(): Promise<void> {
    await this.call('Logout');
  }

  private entered(u: unknown): AuthState {
    const user = toUser(u);
    if (!user) throw new Error('Minebrain answered the login without a user');
    return { user, setupNeeded: false, csrf: '' };
  }
}
