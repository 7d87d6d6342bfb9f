import type { Transport } from './transport';
import { WailsTransport, type WailsWindow } from './wails';
import { WebSocketTransport, type WebSocketOptions } from './websocket';

export interface HostWindow extends WailsWindow {
  location: { protocol: string; host: string };
}

/** True inside the desktop window, where Wails has injected the engine bindings. */
export function isWails(w: HostWindow): boolean {
  return w.go?.desktop !== undefined && w.go?.desktop !== null;
}

/**
 * The WebSocket endpoint of the `minebrain serve` that served this page; `csrf` is the login
 * session's token, which the server checks before the upgrade.
 */
export function webSocketUrl(w: HostWindow, csrf = ''): string {
  const scheme = w.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = csrf ? `?csrf=${encodeURIComponent(csrf)}` : '';
  return `${scheme}//${w.location.host}/ws${q}`;
}

export function selectTransport(
  w: HostWindow = window as unknown as HostWindow,
  wsOptions: Partial<WebSocketOptions> = {},
  csrf = '',
): Transport {
  if (isWails(w)) return new WailsTransport(w);
  return new WebSocketTransport({ ...wsOptions, url: webSocketUrl(w, csrf) });
}
