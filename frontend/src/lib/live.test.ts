import { describe, expect, it } from 'vitest';
import { DEFAULT_STALE_MS, LiveStore, TagCell, judge } from './live.svelte';
import type { TagValue } from './types';

const tv = (t: string, v: TagValue['v'], ts: number, q = 0): TagValue => ({ t, v, q, ts, st: ts });

/** A store whose frame callbacks run only when the test says so. */
function manualStore() {
  const frames: (() => void)[] = [];
  const store = new LiveStore((cb) => frames.push(cb));
  const frame = () => frames.splice(0).forEach((f) => f());
  return { store, frames, frame };
}

describe('LiveStore coalescing', () => {
  it('applies nothing until the frame, then only the latest value of each tag, in one flush', () => {
    const { store, frames, frame } = manualStore();
    const a = store.cell('A');
    store.push([tv('A', 1, 1000), tv('B', 5, 1000)]);
    store.push([tv('A', 2, 1200)]);
    store.push([tv('A', 3, 1400)]);
    expect(frames).toHaveLength(1); // one frame requested for three batches
    expect(a.known).toBe(false);
    expect(a.v).toBeNull();
    frame();
    expect(a.v).toBe(3);
    expect(a.ts).toBe(1400);
    expect(store.cell('B').v).toBe(5);
    expect(store.flushes).toBe(1);
    expect(store.knownCount).toBe(2);
  });

  it('asks for a new frame after a flush', () => {
    const { store, frames, frame } = manualStore();
    store.push([tv('A', 1, 1)]);
    frame();
    store.push([tv('A', 2, 2)]);
    expect(frames).toHaveLength(1);
    frame();
    expect(store.cell('A').v).toBe(2);
    expect(store.flushes).toBe(2);
  });

  it('ignores malformed batches and entries', () => {
    const { store, frames, frame } = manualStore();
    store.push(null);
    store.push({ t: 'A' });
    store.push([null, { v: 1 }, { t: 'A', v: 1 }]);
    expect(frames).toHaveLength(0);
    frame();
    expect(store.knownCount).toBe(0);
  });

  it('lets events that arrived while a snapshot was on its way win over the snapshot', () => {
    const { store, frame } = manualStore();
    const since = store.sequence;
    store.push([tv('A', 'event', 2000)]);
    store.pushSnapshot([tv('A', 'snapshot', 1000), tv('B', 'snapshot', 1000)], since);
    frame();
    expect(store.cell('A').v).toBe('event');
    expect(store.cell('B').v).toBe('snapshot');
  });
});

describe('LiveStore.retain (a new model)', () => {
  it('keeps the cells of tags still in the model and forgets the others, pending values too', () => {
    const { store, frame } = manualStore();
    store.push([tv('Kept', 1, 1000), tv('Gone', 2, 1000)]);
    frame();
    const kept = store.cell('Kept');
    store.push([tv('Gone', 3, 2000), tv('New', 4, 2000)]);
    store.retain(new Set(['Kept', 'New']));
    expect(store.knownCount).toBe(1);
    frame();
    expect(store.cell('Kept')).toBe(kept); // the same cell: what shows it keeps showing it
    expect(kept.v).toBe(1);
    expect(store.cell('New').v).toBe(4);
    expect(store.cell('Gone').known).toBe(false);
    expect(store.knownCount).toBe(2);
  });
});

describe('freshness', () => {
  function feed(cell: TagCell, start: number, every: number, n: number) {
    for (let i = 0; i < n; i++) cell.apply(tv(cell.tag, i, start + i * every));
  }

  it('gives quality from the top two bits of the status code', () => {
    const c = new TagCell('A');
    c.apply(tv('A', 1, 1000, 0x00000000));
    expect(judge(c, 1000, true).quality).toBe('good');
    c.apply(tv('A', 1, 1000, 0x40930000));
    expect(judge(c, 1000, true).quality).toBe('uncertain');
    c.apply(tv('A', 1, 1000, 0x80050000));
    expect(judge(c, 1000, true).quality).toBe('bad');
    c.apply(tv('A', 1, 1000, 0xc0000000));
    expect(judge(c, 1000, true).quality).toBe('bad');
  });

  it('computes age from the source timestamp against server time', () => {
    const c = new TagCell('A');
    c.apply({ t: 'A', v: 1, q: 0, ts: 10_000, st: 10_500 });
    expect(judge(c, 13_000, true).ageMs).toBe(3000);
    const noSource = new TagCell('B');
    noSource.apply({ t: 'B', v: 1, q: 0, ts: 0, st: 10_500 });
    expect(judge(noSource, 13_000, true).ageMs).toBe(2500);
  });

  it('marks a value with no value yet as bad and stale', () => {
    const f = judge(new TagCell('A'), 1000, true);
    expect(f).toMatchObject({ quality: 'bad', stale: true });
  });

  it('marks everything stale when the path is not live, however fresh', () => {
    const c = new TagCell('A');
    c.apply(tv('A', 1, 1000));
    expect(judge(c, 1000, true).stale).toBe(false);
    expect(judge(c, 1000, false).stale).toBe(true);
  });

  it('learns that a tag changes and then calls it stale when it falls silent past 10 s', () => {
    const c = new TagCell('A');
    feed(c, 0, 1000, 5); // changes every second, last at 4000
    expect(c.changing).toBe(true);
    expect(c.staleAfterMs).toBe(DEFAULT_STALE_MS);
    expect(judge(c, 4000 + 9_000, true).stale).toBe(false);
    expect(judge(c, 4000 + 10_001, true).stale).toBe(true);
  });

  it('does not call a constant value stale just because it is old', () => {
    const c = new TagCell('RunState');
    c.apply(tv('RunState', 1, 0));
    c.apply(tv('RunState', 1, 60_000)); // same value re-sent: not a change
    expect(c.changing).toBe(false);
    expect(judge(c, 3_600_000, true).stale).toBe(false);
  });

  it('does not judge slowly changing tags by age, and widens the limit for moderately slow ones', () => {
    const slow = new TagCell('Hours');
    feed(slow, 0, 60_000, 6);
    expect(slow.changing).toBe(false);
    const moderate = new TagCell('Level');
    for (let i = 0; i < 30; i++) moderate.apply(tv('Level', i, i * 5000));
    expect(moderate.changing).toBe(true);
    expect(moderate.staleAfterMs).toBeGreaterThan(15_000);
    expect(moderate.staleAfterMs).toBeLessThanOrEqual(20_000);
  });

  it('does not learn from bad values or from one long outage', () => {
    const c = new TagCell('A');
    feed(c, 0, 1000, 5);
    c.apply(tv('A', 99, 5000, 0x80050000)); // loss marker
    c.apply(tv('A', 100, 120_000)); // back after two minutes
    c.apply(tv('A', 101, 121_000));
    expect(c.changing).toBe(true);
    expect(c.staleAfterMs).toBe(DEFAULT_STALE_MS);
  });
});
