import type { AuthState } from './auth';
import type { Connect, EngineLink, LinkHooks } from './account.svelte';
import type { Transport } from './transport/transport';
import { Session } from './session.svelte';

/**
 * The Connect of an Account: opens a transport for the logged-in session (`open` gets the
 * CSRF token for the WebSocket URL), starts a Session on it, and watches the link for the
 * server ending the session.
 */
export function engineConnector(open: (csrf: string) => Transport, startClock = true): Connect {
  return (state: AuthState, hooks: LinkHooks): EngineLink => {
    const transport = open(state.csrf);
    const session = new Session(transport);
    const offLink = transport.onConnection?.((info) => {
      if (info.ended) hooks.ended();
      else if (info.state === 'lost') hooks.lost();
    });
    // The desktop face announces a changed window session (user disabled or removed) as a
    // "session" event carrying Session(); a session without this user has ended.
    const offSession = transport.on('session', (info: any) => {
      const u = info?.user;
      if (!u || u.name !== state.user?.name) hooks.ended();
    });
    const stopClock = startClock ? session.clock.start() : () => {};
    session.start();
    return {
      session,
      close() {
        offLink?.();
        offSession();
        stopClock();
        session.stop();
        transport.close?.();
      },
    };
  };
}
