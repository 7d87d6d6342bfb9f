import { getContext, setContext } from 'svelte';
import type { Session } from './session.svelte';
import type { Router } from './router.svelte';

// App puts the session and router in context once, so screens need not thread them through.

const SESSION = Symbol('session');
const ROUTER = Symbol('router');

export function provide(session: Session, router: Router): void {
  setContext(SESSION, session);
  setContext(ROUTER, router);
}

export function useSession(): Session {
  return getContext<Session>(SESSION);
}

export function useRouter(): Router {
  return getContext<Router>(ROUTER);
}
