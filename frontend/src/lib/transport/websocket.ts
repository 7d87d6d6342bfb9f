import { SESSION_ENDED_CODE, type LinkInfo, type Transport } from './transport';

// JSON-over-WebSocket transport for `minebrain serve` (docs/architecture.md, Contract 3):
//   -> { "id": 1, "method": "Model", "params": [] }
//   <- { "id": 1, "result": ... } | { "id": 1, "error": "message" } | { "event": "tags", "data": [...] }

/** The part of the browser WebSocket this transport uses (so tests can pass a fake). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface WebSocketOptions {
  url: string;
  create?: (url: string) => WebSocketLike;
  /** A call with no reply after this long is rejected. */
  callTimeoutMs?: number;
  /** Reconnect delay doubles from min to max after each failed attempt. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The server sends status at least once a second; silence this long means a dead link. */
  idleTimeoutMs?: number;
  /** Jitter source, so many clients do not reconnect in step; tests pass () => 0. */
  random?: () => number;
}

const OPEN = 1;

interface Pending {
  method: string;
  frame: string;
  sent: boolean;
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

type Handler = (data: any) => void;

export class WebSocketTransport implements Transport {
  private readonly url: string;
  private readonly create: (url: string) => WebSocketLike;
  private readonly callTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly idleTimeoutMs: number;
  private readonly random: () => number;

  private ws: WebSocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly linkHandlers = new Set<(info: LinkInfo) => void>();
  private info: LinkInfo = { state: 'connecting' };
  private everOpen = false;
  private failures = 0;
  private lastSocketError = '';
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(opts: WebSocketOptions) {
    this.url = opts.url;
    this.create = opts.create ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    this.minBackoffMs = opts.minBackoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 10_000;
    this.random = opts.random ?? Math.random;
    this.connect();
  }

  call<T>(method: string, ...params: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${method}: transport closed`));
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no reply from Minebrain within ${this.callTimeoutMs} ms`));
      }, this.callTimeoutMs);
      const p: Pending = { method, frame: JSON.stringify({ id, method, params }), sent: false, resolve, reject, timer };
      this.pending.set(id, p);
      // While the link is down the request waits and goes out when it opens (or times out).
      this.trySend(p);
    });
  }

  on(event: string, handler: Handler): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  onConnection(handler: (info: LinkInfo) => void): () => void {
    this.linkHandlers.add(handler);
    handler(this.info);
    return () => this.linkHandlers.delete(handler);
  }

  /** Stops for good: no reconnect, every waiting call rejected. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.idleTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
    this.rejectPending(() => true, 'transport closed');
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    let ws: WebSocketLike;
    try {
      ws = this.create(this.url);
    } catch (e) {
      this.lost(`cannot open ${this.url}: ${errorText(e)}`);
      return;
    }
    this.ws = ws;
    this.lastSocketError = '';
    // Every handler first checks that its socket is still the current one: a replaced socket's
    // late events must not touch the new link.
    ws.onopen = () => {
      if (ws !== this.ws) return;
      const reconnected = this.everOpen;
      this.everOpen = true;
      this.failures = 0;
      this.armIdle();
      this.setInfo({ state: 'open', reconnected });
      for (const p of this.pending.values()) this.trySend(p);
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.armIdle();
      this.receive(ev.data);
    };
    ws.onerror = () => {
      if (ws !== this.ws) return;
      this.lastSocketError = 'WebSocket error';
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (ev?.code === SESSION_ENDED_CODE) {
        this.sessionEnded(ev.reason || 'session ended');
        return;
      }
      const why = ev?.reason || this.lastSocketError || `closed (code ${ev?.code ?? '?'})`;
      this.lost(why);
    };
  }

  /** The server ended the login session: no reconnect (it would be refused), every call fails. */
  private sessionEnded(reason: string): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.reconnectTimer);
    this.rejectPending(() => true, `session ended (${reason})`);
    this.setInfo({ state: 'lost', error: `session ended: ${reason}`, ended: true });
  }

  private lost(error: string): void {
    clearTimeout(this.idleTimer);
    // Requests already sent will never be answered on a new socket; queued ones can still go.
    this.rejectPending((p) => p.sent, 'connection to Minebrain lost');
    this.setInfo({ state: 'lost', error });
    if (this.closed || this.reconnectTimer !== undefined) return;
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** this.failures);
    this.failures++;
    const delay = Math.round(base * (1 + 0.25 * this.random()));
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const ws = this.ws;
      if (!ws) return;
      this.ws = null; // detach first so its own close event is ignored
      try {
        ws.close(4000, 'idle');
      } catch {
        /* already closing */
      }
      this.lost(`no message from Minebrain for ${Math.round(this.idleTimeoutMs / 1000)} s`);
    }, this.idleTimeoutMs);
  }

  private trySend(p: Pending): void {
    const ws = this.ws;
    if (p.sent || !ws || ws.readyState !== OPEN) return;
    try {
      ws.send(p.frame);
      p.sent = true;
    } catch {
      // The socket is closing; its close event will follow and the request waits for the next one.
    }
  }

  private receive(raw: unknown): void {
    let msg: any;
    try {
      msg = JSON.parse(String(raw));
    } catch {
      console.warn('minebrain: ignoring a message that is not JSON', raw);
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (!p) return; // late reply to a call that already timed out
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error !== undefined && msg.error !== null && msg.error !== '') {
        p.reject(new Error(`${p.method}: ${errorText(msg.error)}`));
      } else {
        p.resolve(msg.result ?? null);
      }
      return;
    }
    if (typeof msg.event === 'string') this.dispatch(msg.event, msg.data);
  }

  private dispatch(event: string, data: unknown): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        h(data);
      } catch (e) {
        // One failing screen must not starve the others of events.
        console.error(`minebrain: handler for "${event}" failed`, e);
      }
    }
  }

  private rejectPending(which: (p: Pending) => boolean, why: string): void {
    for (const [id, p] of this.pending) {
      if (!which(p)) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new Error(`${p.method}: ${why}`));
    }
  }

  private setInfo(info: LinkInfo): void {
    this.info = info;
    for (const h of [...this.linkHandlers]) h(info);
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
