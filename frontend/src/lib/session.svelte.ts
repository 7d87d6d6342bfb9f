import type { LinkInfo, Transport } from './transport/transport';
import type { Connection, ConnectionState, Model, ReadyInfo, Status, TagValue, Unit } from './types';
import { LiveStore } from './live.svelte';
import { ServerClock } from './clock.svelte';
import { EngineApi } from './transport/engine-api';
import { AlarmStore } from './alarms.svelte';

// The page's session with the engine: loads the model and snapshot, follows events, knows
// whether values can be trusted, and collects errors for the banner. It sees only the
// Transport interface.

/** Status events come at least once a second; this much silence means we know nothing. */
export const STATUS_FRESH_MS = 5_000;

export interface AppError {
  key: string;
  message: string;
  at: number;
}

export interface SessionOptions {
  /** Delay before a failed load is tried again. */
  retryMs?: number;
}

export class Session {
  model = $state.raw<Model | null>(null);
  status = $state.raw<Status | null>(null);
  link = $state.raw<LinkInfo>({ state: 'open' });
  errors = $state.raw<AppError[]>([]);
  /** Server time of the last status event (0: none yet). */
  statusAt = $state(0);
  readySent = false;

  readonly store: LiveStore;
  readonly clock: ServerClock;
  /** The engine's connection-management calls (trust, browse, add node). */
  readonly api: EngineApi;
  /** The alarm summary for the banner and the alarm list. */
  readonly alarms: AlarmStore;
  private readonly retryMs: number;
  private offs: (() => void)[] = [];
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private loading: Promise<void> | null = null;
  /** Model events received so far: a load compares it to know whether its reply is older. */
  private modelEvents = 0;

  constructor(
    private readonly transport: Transport,
    opts: SessionOptions & { store?: LiveStore; clock?: ServerClock } = {},
  ) {
    this.store = opts.store ?? new LiveStore();
    this.clock = opts.clock ?? new ServerClock();
    this.api = new EngineApi(transport);
    this.alarms = new AlarmStore(transport);
    this.retryMs = opts.retryMs ?? 3_000;
  }

  start(): void {
    this.offs.push(
      this.transport.on('tags', (batch: TagValue[]) => this.store.push(batch)),
      this.transport.on('status', (s: Status) => this.applyStatus(s)),
      this.transport.on('model', (m: unknown) => this.onModelEvent(m)),
      this.alarms.start(),
    );
    const offLink = this.transport.onConnection?.((info) => {
      this.link = info;
      // After a reconnect the engine may have restarted: take its model and values afresh.
      if (info.state === 'open' && info.reconnected) {
        void this.load();
        void this.alarms.load();
      }
    });
    if (offLink) this.offs.push(offLink);
    void this.load();
  }

  /** Stops following the engine (after a logout); the transport is closed by its owner. */
  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * Every `tags` event batch as it arrives (not coalesced per frame like the store): the
   * trend's live tail. Returns the unsubscribe function.
   */
  onTags(handler: (batch: TagValue[]) => void): () => void {
    return this.transport.on('tags', (b: unknown) => {
      if (Array.isArray(b)) handler(b as TagValue[]);
    });
  }

  /** Fetches Model, Snapshot and Status; retries until it works. */
  load(): Promise<void> {
    if (this.loading) return this.loading;
    clearTimeout(this.retryTimer);
    this.loading = this.doLoad().finally(() => (this.loading = null));
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    try {
      const since = this.store.sequence;
      const modelEvents = this.modelEvents;
      const [model, snapshot] = await Promise.all([
        this.transport.call<Model>('Model'),
        this.transport.call<TagValue[]>('Snapshot'),
      ]);
      if (!isModel(model)) throw new Error('Model: the reply is not a site model');
      // A model event that arrived while this reply was on its way is newer and stays. An
      // engine that knows no equipment yet sends its model as an event when it does.
      if (this.modelEvents === modelEvents) this.applyModel(model);
      this.store.pushSnapshot(snapshot, since);
      this.clear('load');
      const status = await this.transport.call<Status>('Status');
      this.applyStatus(status);
    } catch (e) {
      this.report('load', `Could not load the site from Minebrain: ${message(e)}`);
      // While the link is down the reconnect triggers the next load; otherwise try again soon.
      if (this.link.state === 'open' && !this.stopped) this.retryTimer = setTimeout(() => void this.load(), this.retryMs);
    }
  }

  /** A `model` event: the engine discovered its equipment, or found it changed. */
  private onModelEvent(m: unknown): void {
    if (!isModel(m)) {
      this.report('model', 'Minebrain sent a site model this page cannot read');
      return;
    }
    this.modelEvents++;
    this.applyModel(m);
    this.clear('model');
  }

  /** Replaces the model. Values of tags still in it stay on screen; the rest are forgotten. */
  private applyModel(m: Model): void {
    this.model = m;
    this.store.retain(new Set(m.areas.flatMap((a) => a.units.flatMap((u) => u.signals.map((s) => s.tag)))));
  }

  applyStatus(s: Status): void {
    if (!s || typeof s.now !== 'number') return;
    this.clock.sync(s.now);
    this.statusAt = s.now;
    this.status = s;
  }

  /** The OPC UA connection that delivers a unit's values, or null when the page cannot tell. */
  connectionOf(unit: Unit): Connection | null {
    const conns = this.status?.connections ?? [];
    if (unit.connection) return conns.find((c) => c.name === unit.connection) ?? null;
    return conns.length === 1 ? conns[0] : null;
  }

  /**
   * Whether values of this unit (or, with no unit, of the whole site) come over a path the
   * page can vouch for right now. Without a tag→connection mapping every connection must be up.
   */
  live(unit?: Unit): boolean {
    if (this.link.state !== 'open' || !this.status) return false;
    if (this.clock.now - this.statusAt > STATUS_FRESH_MS) return false;
    const conns = this.status.connections ?? [];
    if (conns.length === 0) return false;
    const c = unit?.connection ? conns.find((x) => x.name === unit.connection) : undefined;
    if (c) return c.state === 'connected';
    return conns.every((x) => x.state === 'connected');
  }

  /** The worst state among the connections, for the header. */
  overallState(): ConnectionState | 'unknown' {
    const conns = this.status?.connections ?? [];
    if (conns.length === 0) return 'unknown';
    const order: ConnectionState[] = ['disconnected', 'stale', 'connecting', 'connected'];
    for (const s of order) if (conns.some((c) => c.state === s)) return s;
    return 'unknown';
  }

  /** Tells the engine the first overview with live values is on screen; once per page. */
  ready(info: ReadyInfo): void {
    if (this.readySent) return;
    this.readySent = true;
    this.transport.call('Ready', info).catch((e) => this.report('ready', `Ready: ${message(e)}`));
  }

  report(key: string, msg: string): void {
    const rest = this.errors.filter((e) => e.key !== key);
    this.errors = [...rest, { key, message: msg, at: Date.now() }];
  }

  clear(key: string): void {
    if (this.errors.some((e) => e.key === key)) this.errors = this.errors.filter((e) => e.key !== key);
  }
}

function isModel(m: any): m is Model {
  return m !== null && typeof m === 'object' && Array.isArray(m.areas);
}

export function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : JSON.stringify(e);
}
