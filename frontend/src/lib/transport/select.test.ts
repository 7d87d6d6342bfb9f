import { describe, expect, it, vi } from 'vitest';
import { isWails, selectTransport, webSocketUrl } from './select';
import { WailsTransport } from './wails';
import { WebSocketTransport } from './websocket';
import { FakeWebSocket } from './fake-websocket';

const loc = (protocol: string, host: string) => ({ location: { protocol, host } });

describe('selectTransport', () => {
  it('picks Wails when the desktop bindings exist', () => {
    const w = { ...loc('wails:', 'wails.localhost'), go: { desktop: { App: {} } } };
    expect(isWails(w)).toBe(true);
    expect(selectTransport(w)).toBeInstanceOf(WailsTransport);
  });

  it('picks the WebSocket on the serving host otherwise', () => {
    const w = loc('http:', '127.0.0.1:8080');
    expect(isWails(w)).toBe(false);
    const created: string[] = [];
    const t = selectTransport(w, {
      create: (url) => {
        created.push(url);
        return new FakeWebSocket(url);
      },
    });
    expect(t).toBeInstanceOf(WebSocketTransport);
    expect(created).toEqual(['ws://127.0.0.1:8080/ws']);
    (t as WebSocketTransport).close();
  });

  it('uses wss behind https', () => {
    expect(webSocketUrl(loc('https:', 'mine.example:443'))).toBe('wss://mine.example:443/ws');
  });

  it('does not take a window with go but no desktop binding for Wails', () => {
    const w = { ...loc('http:', 'h'), go: {} };
    expect(isWails(w)).toBe(false);
    const t = selectTransport(w, { create: (u) => new FakeWebSocket(u) });
    expect(t).toBeInstanceOf(WebSocketTransport);
    (t as WebSocketTransport).close();
    vi.restoreAllMocks();
  });
});
