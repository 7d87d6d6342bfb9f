import type { AuthClient, AuthState } from './auth';
import { atLeast } from './auth';
import type { Session } from './session.svelte';
import type { Role, User } from './types';

// Who is logged in, and the engine link that exists only while someone is. Logging in opens
// the transport (`connect`); logging out, or the server ending the session (WebSocket close
// 4401), closes it and returns to the login page.

export const SESSION_ENDED = 'Your session ended; log in again.';

/** The engine link of one login: its Session and how to close it. */
export interface EngineLink {
  session: Session;
  close(): void;
}

export interface LinkHooks {
  /** The server ended the session (close code 4401). */
  ended(): void;
  /** The link dropped for another reason: check whether the login still holds. */
  lost(): void;
}

export type Connect = (state: AuthState, hooks: LinkHooks) => EngineLink;

export class Account {
  user = $state.raw<User | null>(null);
  setupNeeded = $state(false);
  /** True until the first Session() answered. */
  checking = $state(true);
  busy = $state(false);
  /** The line on the login page: the server's refusal, or why the session ended. */
  message = $state('');
  link = $state.raw<EngineLink | null>(null);
  private csrf = '';
  private checkingLost = false;

  constructor(
    readonly auth: AuthClient,
    private readonly connect: Connect,
  ) {}

  get role(): Role {
    return this.user?.role ?? 'viewer';
  }

  can(needed: Role): boolean {
    return this.user !== null && atLeast(this.user.role, needed);
  }

  /** Asks the face whether a session exists already (cookie, or a wall display's auto-login). */
  async check(): Promise<void> {
    try {
      this.apply(await this.auth.session());
    } catch (e) {
      this.message = `Cannot reach Minebrain: ${text(e)}`;
    } finally {
      this.checking = false;
    }
  }

  login(name: string, password: string): Promise<boolean> {
    return this.enter(() => this.auth.login(name, password));
  }

  setup(name: string, password: string): Promise<boolean> {
    return this.enter(() => this.auth.setup(name, password));
  }

  async logout(): Promise<void> {
    let why = '';
    try {
      await this.auth.logout(this.csrf);
    } catch (e) {
      why = `Logged out on this screen, but Minebrain did not confirm: ${text(e)}`;
    }
    this.end(why);
  }

  /**
   * The server ended the session. Asks once more: a wall display falls back to its viewer
   * session, everyone else stays on the login page with the reason.
   */
  ended(): void {
    if (!this.user) return;
    this.end(SESSION_ENDED);
    void this.auth.session().then(
      (s) => {
        if (s.user && !this.user) this.apply(s);
      },
      () => undefined,
    );
  }

  private async enter(f: () => Promise<AuthState>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.message = '';
    try {
      this.apply(await f());
      return this.user !== null;
    } catch (e) {
      this.message = text(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  private apply(s: AuthState): void {
    this.setupNeeded = s.setupNeeded;
    if (!s.user) return;
    this.link?.close();
    this.csrf = s.csrf;
    this.message = '';
    const hooks: LinkHooks = { ended: () => this.ended(), lost: () => void this.recheck() };
    this.link = this.connect(s, hooks);
    this.user = s.user;
  }

  /** After a lost link: if the server no longer knows the session, go back to the login. */
  private async recheck(): Promise<void> {
    if (this.checkingLost || !this.user) return;
    this.checkingLost = true;
    try {
      const s = await this.auth.session();
      if (!s.user && this.user) this.ended();
    } catch {
      // The server is unreachable: the link banner says so; the session may still hold.
    } finally {
      this.checkingLost = false;
    }
  }

  private end(why: string): void {
    const link = this.link;
    this.link = null;
    this.user = null;
    this.csrf = '';
    this.message = why;
    link?.close();
  }
}

function text(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : JSON.stringify(e);
}
