import type { Transport } from './transport';

// What the Wails v2 runtime puts on window: generated bindings under go.<package>.<struct>
// and the events runtime.
export interface WailsWindow {
  go?: { desktop?: { App?: Record<string, (...args: unknown[]) => Promise<unknown>> } };
  runtime?: {
    EventsOn(name: string, cb: (...data: any[]) => void): (() => void) | undefined;
    EventsOff?(name: string, ...more: string[]): void;
  };
}

export class WailsTransport implements Transport {
  constructor(private readonly w: WailsWindow) {}

  call<T>(method: string, ...params: unknown[]): Promise<T> {
    const fn = this.w.go?.desktop?.App?.[method];
    if (typeof fn !== 'function') {
      return Promise.reject(new Error(`the desktop face has no method ${method}`));
    }
    try {
      return Promise.resolve(fn(...params)).then(
        (r) => r as T,
        // Wails rejects with a plain string; make it an Error like the WebSocket transport does.
        (e: unknown) => Promise.reject(e instanceof Error ? e : new Error(`${method}: ${String(e)}`)),
      );
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  on(event: string, handler: (data: any) => void): () => void {
    const rt = this.w.runtime;
    if (!rt) throw new Error('the Wails runtime is missing');
    const off = rt.EventsOn(event, (data: unknown) => handler(data));
    if (typeof off === 'function') return off;
    // Older runtimes return nothing; EventsOff drops every listener of that event.
    return () => rt.EventsOff?.(event);
  }
}
