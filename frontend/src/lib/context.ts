import { getContext, setContext } from 'svelte';
import type { Session } from './session.svelte';
import type { Router } from './router.svelte';
import type { Account } from './account.svelte';

// App puts the session, router and account in context once, so screens need not thread them through.

const SESSION = Symbol('session');
const ROUTER = Symbol('router');
const ACCOUNT = Symbol('account');

export function provide(session: Session, router: Router, account?: Account): void {
  setContext(SESSION, session);
  setContext(ROUTER, router);
  setContext(ACCOUNT, account);
}

export function useSession(): Session {
  return getContext<Session>(SESSION);
}

export function useRouter(): Router {
  return getContext<Router>(ROUTER);
}

/** The login; undefined when the app runs without one (component tests). */
export function useAccount(): Account | undefined {
  return getContext<Account | undefined>(ACCOUNT);
}
