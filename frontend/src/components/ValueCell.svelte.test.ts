// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import ValueCell from './ValueCell.svelte';
import { TagCell } from '../lib/live.svelte';

let app: Record<string, any> | undefined;

function render(props: Record<string, unknown>) {
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(ValueCell, { target, props: props as any });
  flushSync();
  return target.querySelector<HTMLElement>('[data-tag]')!;
}

afterEach(() => {
  if (app) unmount(app);
  document.body.innerHTML = '';
});

describe('ValueCell', () => {
  it('shows a good live value plainly with unit and age', () => {
    const cell = new TagCell('Pit.SH01.HoistCurrentA');
    cell.apply({ t: cell.tag, v: 812.25, q: 0, ts: 10_000, st: 10_000 });
    const el = render({ cell, now: 13_000, live: true, unit: 'A', dataType: 'Double' });
    expect(el.dataset.quality).toBe('good');
    expect(el.dataset.stale).toBe('false');
    expect(el.textContent).toContain('812.3');
    expect(el.textContent).toContain('A');
    expect(el.textContent).toContain('3s');
    expect(el.textContent).not.toContain('STALE');
    expect(el.querySelector('.mark')).toBeNull();
  });

  it('marks bad and uncertain values with a symbol, not only a colour', () => {
    const bad = new TagCell('X.Bad');
    bad.apply({ t: bad.tag, v: 1, q: 0x80050000, ts: 1000, st: 1000 });
    const el = render({ cell: bad, now: 1000, live: true });
    expect(el.dataset.quality).toBe('bad');
    expect(el.querySelector('.mark')?.textContent).toBe('✕');
    expect(el.title).toContain('BadCommunicationError');
    unmount(app!);
    app = undefined;

    const unc = new TagCell('X.Unc');
    unc.apply({ t: unc.tag, v: 1, q: 0x40930000, ts: 1000, st: 1000 });
    const el2 = render({ cell: unc, now: 1000, live: true });
    expect(el2.dataset.quality).toBe('uncertain');
    expect(el2.querySelector('.mark')?.textContent).toBe('?');
  });

  it('marks a value stale when the path is down, and updates when the cell changes', () => {
    const cell = new TagCell('A');
    cell.apply({ t: 'A', v: 1, q: 0, ts: 1000, st: 1000 });
    const props = $state({ cell, now: 1000, live: true });
    const target = document.createElement('div');
    document.body.append(target);
    app = mount(ValueCell, { target, props });
    flushSync();
    const el = target.querySelector<HTMLElement>('[data-tag]')!;
    expect(el.dataset.stale).toBe('false');
    props.live = false;
    flushSync();
    expect(el.dataset.stale).toBe('true');
    expect(el.textContent).toContain('STALE');
    cell.apply({ t: 'A', v: 2, q: 0x80050000, ts: 2000, st: 2000 });
    flushSync();
    expect(el.dataset.quality).toBe('bad');
  });
});
