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

/** The WebSocket endpoint of the `minebrain serve` that served this page. */
export function webSocketUrl(w: HostWindow): string {
  const scheme = w.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${w.location.host}/ws`;
}

export function selectTransport(
  w: HostWindow = window as unknown as HostWindow,
  wsOptions: Partial<WebSocketOptions> = {},
): Transport {
  if (isWails(w)) return new WailsTransport(w);
  return new WebSocketTransport({ ...wsOptions, url: webSocketUrl(w) });
}
