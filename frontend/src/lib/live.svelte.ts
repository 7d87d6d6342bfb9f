import type { TagValue, Value } from './types';
import { qualityOf, type Quality } from './quality';

// The live tag table of the page. Every tag is one TagCell whose fields are Svelte signals, so
// a changed value re-renders only the few DOM nodes that show it. Incoming batches are merged
// (latest value per tag) and applied at most once per animation frame.

/** A value that normally changes and has been silent this long is stale. */
export const DEFAULT_STALE_MS = 10_000;
/** Tags that change less often than this on average are not judged by age (see TagCell). */
const SLOW_TAG_MS = 30_000;
/** Changes seen before a tag counts as "normally changing". */
const CHANGES_TO_LEARN = 3;

export class TagCell {
  v = $state<Value>(null);
  q = $state(0);
  ts = $state(0);
  st = $state(0);
  /** False until the first value arrives. */
  known = $state(false);
  /**
   * Learned: this tag's value normally changes (at least every 30 s on average). A constant
   * value (a run state, a setpoint) gets old without being stale; a changing one going
   * silent is stale.
   */
  changing = $state(false);
  /** Age beyond which this tag's value is stale: 4× its usual interval, at least 10 s. */
  staleAfterMs = $state(DEFAULT_STALE_MS);

  /** Store sequence number of the last event batch that touched this tag (not reactive). */
  lastSeq = 0;
  private changes = 0;
  private gapAvg = 0;

  constructor(readonly tag: string) {}

  /** When the value was sampled: the source timestamp, else the server's. */
  get sampledAt(): number {
    return this.ts || this.st;
  }

  apply(tv: TagValue): void {
    const at = tv.ts || tv.st || 0;
    const prev = this.sampledAt;
    if (this.known && qualityOf(tv.q) === 'good' && qualityOf(this.q) === 'good' && at > prev) {
      if (tv.v !== this.v) this.learn(at - prev);
    }
    if (this.v !== tv.v) this.v = tv.v;
    if (this.q !== tv.q) this.q = tv.q;
    if (this.ts !== tv.ts) this.ts = tv.ts;
    if (this.st !== tv.st) this.st = tv.st;
    if (!this.known) this.known = true;
  }

  private learn(gap: number): void {
    // A gap longer than the current limit is an outage, not the tag's rhythm: count it only up
    // to the limit, so one outage does not teach the page to trust silence.
    const g = Math.min(gap, this.staleAfterMs);
    this.gapAvg = this.changes === 0 ? g : 0.8 * this.gapAvg + 0.2 * g;
    this.changes++;
    const changing = this.changes >= CHANGES_TO_LEARN && this.gapAvg <= SLOW_TAG_MS;
    if (this.changing !== changing) this.changing = changing;
    const limit = Math.max(DEFAULT_STALE_MS, Math.round(4 * this.gapAvg));
    if (this.staleAfterMs !== limit) this.staleAfterMs = limit;
  }
}

export interface Freshness {
  quality: Quality;
  stale: boolean;
  ageMs: number;
}

/**
 * How far to trust a cell's value right now. `live` is false when the page cannot vouch for
 * the path the value came by (link to Minebrain lost, OPC UA connection stale/down, no status).
 */
export function judge(cell: TagCell, serverNow: number, live: boolean): Freshness {
  if (!cell.known) return { quality: 'bad', stale: true, ageMs: NaN };
  const ageMs = serverNow - cell.sampledAt;
  const tooOld = cell.changing && ageMs > cell.staleAfterMs;
  return { quality: qualityOf(cell.q), stale: !live || tooOld, ageMs };
}

export type Scheduler = (flush: () => void) => void;

const frameScheduler: Scheduler = (flush) => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => flush());
  else setTimeout(flush, 16);
};

export class LiveStore {
  /** Tags that have a value; the overview reports it with Ready. */
  knownCount = $state(0);
  /** Frames in which batches were applied (for tests and diagnostics). */
  flushes = 0;

  private readonly cells = new Map<string, TagCell>();
  private pending = new Map<string, TagValue>();
  private scheduled = false;
  private seq = 0;

  constructor(private readonly schedule: Scheduler = frameScheduler) {}

  /** The cell for a tag, created empty if no value has arrived yet. */
  cell(tag: string): TagCell {
    let c = this.cells.get(tag);
    if (!c) this.cells.set(tag, (c = new TagCell(tag)));
    return c;
  }

  /** A `tags` event batch. Returns the sequence number of this batch. */
  push(batch: unknown): number {
    const seq = ++this.seq;
    if (!Array.isArray(batch)) return seq;
    for (const tv of batch) {
      if (!isTagValue(tv)) continue;
      this.pending.set(tv.t, tv);
      this.cell(tv.t).lastSeq = seq;
    }
    this.arm();
    return seq;
  }

  /** Current sequence number: take it before asking for a snapshot. */
  get sequence(): number {
    return this.seq;
  }

  /**
   * A Snapshot reply. Events that arrived after `since` (while the snapshot was on its way) are
   * newer than the snapshot's values for those tags and win.
   */
  pushSnapshot(values: unknown, since: number): void {
    if (!Array.isArray(values)) return;
    for (const tv of values) {
      if (!isTagValue(tv)) continue;
      if (this.cell(tv.t).lastSeq > since) continue;
      this.pending.set(tv.t, tv);
    }
    this.arm();
  }

  /**
   * Forgets every tag not in `tags`, pending values included: a new model dropped them. The
   * cells of the others stay as they are, so their values and learned rhythm survive.
   */
  retain(tags: ReadonlySet<string>): void {
    let forgotten = 0;
    for (const [tag, c] of this.cells) {
      if (tags.has(tag)) continue;
      this.cells.delete(tag);
      if (c.known) forgotten++;
    }
    for (const tag of this.pending.keys()) if (!tags.has(tag)) this.pending.delete(tag);
    if (forgotten) this.knownCount -= forgotten;
  }

  /** Applies everything pending now (the frame callback; tests call it directly). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    let added = 0;
    for (const tv of batch.values()) {
      const c = this.cell(tv.t);
      if (!c.known) added++;
      c.apply(tv);
    }
    if (added) this.knownCount += added;
    this.flushes++;
  }

  private arm(): void {
    if (this.scheduled || this.pending.size === 0) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }
}

function isTagValue(x: any): x is TagValue {
  return x !== null && typeof x === 'object' && typeof x.t === 'string' && typeof x.q === 'number';
}
