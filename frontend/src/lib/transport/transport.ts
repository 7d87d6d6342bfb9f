// The one interface every screen talks through. Two implementations: Wails (desktop) and
// WebSocket (`minebrain serve`); selectTransport() picks one at start-up.

/** State of the link between this page and the Minebrain engine (not the OPC UA connections). */
export type LinkState = 'connecting' | 'open' | 'lost';

export interface LinkInfo {
  state: LinkState;
  /** Why the link is not open, when known. */
  error?: string;
  /** True on an 'open' that follows a loss: the page must re-fetch what it holds. */
  reconnected?: boolean;
  /**
   * True when the server ended the login session (WebSocket close code 4401): the transport
   * stops for good and the page must return to the login.
   */
  ended?: boolean;
}

/** Close code the server uses when the login session behind a WebSocket ends. */
export const SESSION_ENDED_CODE = 4401;

export interface Transport {
  call<T>(method: string, ...params: unknown[]): Promise<T>;
  /** Subscribes to an engine event; returns the unsubscribe function. */
  on(event: string, handler: (data: any) => void): () => void;
  /** Link state changes; a transport without one (Wails, in-process) is always open. */
  onConnection?(handler: (info: LinkInfo) => void): () => void;
  /** Stops for good (after a logout); transports without a link need none. */
  close?(): void;
}
