// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { alarm, choose, cleanup, click, fakeEngine, mountRoot, q, qa, summaryOf, text, type, until, type Answers } from '../lib/test-app';
import type { AlarmSummary, Role } from '../lib/types';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const t = (minAgo: number) => new Date(Date.now() - minAgo * 60_000).toISOString();

const list = [
  alarm({ id: 'a1', area: 'Crushing', unit: 'Crushing.CR01', priority: 'medium', raised: t(5), message: 'Feed low' }),
  alarm({ id: 'a2', area: 'Pit', unit: 'Pit.SH01', priority: 'critical', raised: t(20), message: 'Hoist overload' }),
  alarm({ id: 'a3', area: 'Water', unit: 'Water.P01', priority: 'low', raised: t(1), message: 'Sump level high', state: 'acknowledged' }),
  alarm({ id: 'a4', area: 'Pit', unit: 'Pit.SH02', priority: 'high', raised: t(10), message: 'Swing fault', state: 'latched', active: false }),
];

async function open(role: Role = 'operator', answers: Answers = {}, summary: AlarmSummary = summaryOf(list)) {
  const transport = fakeEngine({ Alarms: () => summary, AcknowledgeAlarms: (ids) => ({ acknowledged: (ids as string[]).length, errors: [] }), ...answers });
  const booted = await mountRoot({ transport, user: { name: 'ana', role } });
  window.location.hash = '#/alarms';
  await until(() => expect(qa('[data-testid="alarm-row"]')).toHaveLength(summary.active.length));
  return booted;
}

const ids = () => qa('[data-testid="alarm-row"]').map((r) => r.dataset.alarmId);

describe('alarm banner', () => {
  it('shows counts by priority, unacknowledged and the newest alarm, and follows the "alarms" event', async () => {
    const transport = fakeEngine({ Alarms: () => summaryOf(list) });
    await mountRoot({ transport, user: { name: 'ana', role: 'operator' } });
    await until(() => expect(q('[data-testid="alarm-count-critical"]')!.dataset.count).toBe('1'));
    expect(q('[data-testid="alarm-count-high"]')!.dataset.count).toBe('1');
    expect(q('[data-testid="alarm-count-medium"]')!.dataset.count).toBe('1');
    expect(q('[data-testid="alarm-count-low"]')!.dataset.count).toBe('1');
    expect(text('[data-testid="alarm-count-critical"]')).toContain('1');
    expect(q('[data-testid="alarm-count-critical"] [data-priority="critical"]')).not.toBeNull(); // coloured with a shape
    expect(text('[data-testid="alarm-count-unacknowledged"]')).toBe('2 unacknowledged');
    expect(q('[data-testid="alarm-newest"]')!.dataset.alarmId).toBe('a3');
    expect(text('[data-testid="alarm-newest"]')).toContain('Water.P01');
    expect(text('[data-testid="alarm-newest"]')).toContain('Sump level high');
    expect(text('[data-testid="alarm-newest"]')).toMatch(/\d\d:\d\d:\d\d \(1m0\ds ago\)/);
    expect(text('[data-testid="nav-alarms"]')).toContain('2');
    expect(q('[data-testid="alarm-flood"]')).toBeNull();

    const fresh = alarm({ id: 'n1', priority: 'critical', raised: t(0), unit: 'Crushing.CR02', message: 'Chute blocked' });
    transport.emit('alarms', summaryOf([fresh, ...list]));
    flushSync();
    expect(q('[data-testid="alarm-count-critical"]')!.dataset.count).toBe('2');
    expect(q('[data-testid="alarm-count-unacknowledged"]')!.dataset.count).toBe('3');
    expect(text('[data-testid="alarm-newest"]')).toContain('Chute blocked');
    expect(text('[data-testid="alarm-newest"]')).toContain('UNACK');
    expect(q('[data-testid="alarm-newest"] .unack-blink')).not.toBeNull();
  });

  it('shows a flood banner per area', async () => {
    const transport = fakeEngine({
      Alarms: () => summaryOf(list, [], [{ area: 'Crushing', count: 14, since: t(8) }, { area: 'Pit', count: 11, since: t(3) }]),
    });
    await mountRoot({ transport, user: { name: 'ana', role: 'viewer' } });
    await until(() => expect(qa('[data-testid="alarm-flood"]')).toHaveLength(2));
    expect(text('[data-testid="alarm-flood"][data-area="Crushing"]')).toContain('Alarm flood in Crushing: 14 alarms in 10 min');
    transport.emit('alarms', summaryOf(list));
    flushSync();
    expect(q('[data-testid="alarm-flood"]')).toBeNull();
  });

  it('is calm with no alarms and says when the alarms cannot be read', async () => {
    const transport = fakeEngine({ Alarms: () => Promise.reject(new Error('Alarms: not logged in')) });
    await mountRoot({ transport, user: { name: 'ana', role: 'operator' } });
    await until(() => expect(text('[data-testid="alarm-banner-error"]')).toContain('not logged in'));
    expect(q('[data-testid="alarm-count-critical"] [data-priority]')).toBeNull();
  });
});

describe('alarm list', () => {
  it('sorts by time, priority and area', async () => {
    await open();
    expect(ids()).toEqual(['a3', 'a1', 'a4', 'a2']); // newest first
    click('[data-testid="alarm-sort-time"]');
    expect(ids()).toEqual(['a2', 'a4', 'a1', 'a3']);
    click('[data-testid="alarm-sort-priority"]');
    expect(ids()).toEqual(['a2', 'a4', 'a1', 'a3']); // most urgent first
    click('[data-testid="alarm-sort-priority"]');
    expect(ids()).toEqual(['a3', 'a1', 'a4', 'a2']);
    click('[data-testid="alarm-sort-area"]');
    expect(ids()).toEqual(['a1', 'a2', 'a4', 'a3']); // A→Z, then priority
    expect(q('[data-testid="alarm-row"][data-alarm-id="a4"]')!.dataset.state).toBe('latched');
  });

  it('filters by area and priority', async () => {
    await open();
    choose('[data-testid="alarm-filter-area"]', 'Pit');
    expect(ids().sort()).toEqual(['a2', 'a4']);
    choose('[data-testid="alarm-filter-priority"]', 'critical');
    expect(ids()).toEqual(['a2']);
    choose('[data-testid="alarm-filter-area"]', '');
    choose('[data-testid="alarm-filter-priority"]', 'low');
    expect(ids()).toEqual(['a3']);
  });

  it('acknowledges one alarm, and all visible unacknowledged ones', async () => {
    const { transport } = await open();
    expect(qa('[data-testid="alarm-ack"]')).toHaveLength(2); // a1 and a2 only
    click('[data-testid="alarm-row"][data-alarm-id="a1"] [data-testid="alarm-ack"]');
    await until(() => expect(transport.count('AcknowledgeAlarms')).toBe(1));
    expect(transport.calls.find((c) => c.method === 'AcknowledgeAlarms')!.params).toEqual([['a1']]);

    choose('[data-testid="alarm-filter-area"]', 'Pit');
    click('[data-testid="alarm-ack-all"]');
    await until(() => expect(transport.count('AcknowledgeAlarms')).toBe(2));
    expect(transport.calls.filter((c) => c.method === 'AcknowledgeAlarms')[1].params).toEqual([['a2']]);
    await until(() => expect(text('[data-testid="alarm-ack-result"]')).toBe('Acknowledged 1 alarm.'));

    choose('[data-testid="alarm-filter-area"]', '');
    click('[data-testid="alarm-ack-all"]');
    await until(() => expect(transport.count('AcknowledgeAlarms')).toBe(3));
    expect(transport.calls.filter((c) => c.method === 'AcknowledgeAlarms')[2].params).toEqual([['a1', 'a2']]);
  });

  it('shows acknowledge errors inline in the row', async () => {
    await open('operator', { AcknowledgeAlarms: () => ({ acknowledged: 0, errors: ['a1: already acknowledged by bob'] }) });
    click('[data-testid="alarm-row"][data-alarm-id="a1"] [data-testid="alarm-ack"]');
    await until(() => expect(text('[data-alarm-id="a1"] [data-testid="alarm-error"]')).toBe('a1: already acknowledged by bob'));
  });

  it('shelves only with a reason, for the chosen duration', async () => {
    const shelved: unknown[][] = [];
    const { transport } = await open('operator', {
      ShelveAlarm: (...p) => {
        shelved.push(p);
        return null;
      },
    });
    click('[data-testid="alarm-row"][data-alarm-id="a2"] [data-testid="alarm-shelve"]');
    expect(q('[data-testid="shelve-dialog"]')!.getAttribute('aria-modal')).toBe('true');
    expect(q<HTMLButtonElement>('[data-testid="reason-confirm"]')!.disabled).toBe(true);
    type('[data-testid="reason-input"]', '   ');
    expect(q<HTMLButtonElement>('[data-testid="reason-confirm"]')!.disabled).toBe(true);
    expect(transport.count('ShelveAlarm')).toBe(0);
    type('[data-testid="reason-input"]', 'Sensor being replaced');
    choose('[data-testid="shelve-duration"]', '480');
    click('[data-testid="reason-confirm"]');
    await until(() => expect(q('[data-testid="shelve-dialog"]')).toBeNull());
    expect(shelved).toEqual([['a2', 'Sensor being replaced', 480]]);
  });

  it('keeps the shelve dialog open with the engine error', async () => {
    await open('operator', { ShelveAlarm: () => Promise.reject(new Error('ShelveAlarm: critical alarms cannot be shelved for 8 h')) });
    click('[data-testid="alarm-row"][data-alarm-id="a2"] [data-testid="alarm-shelve"]');
    type('[data-testid="reason-input"]', 'x');
    click('[data-testid="reason-confirm"]');
    await until(() => expect(text('[data-testid="reason-error"]')).toContain('critical alarms cannot be shelved'));
    q('[data-testid="reason-input"]')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }));
    flushSync();
    expect(q('[data-testid="shelve-dialog"]')).toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    flushSync();
    expect(q('[data-testid="alarms-page"]')).not.toBeNull(); // Escape closed the dialog, not the page
  });

  it('resets a latched alarm once it cleared', async () => {
    const { transport } = await open('operator', { ResetAlarm: () => null });
    click('[data-alarm-id="a4"] [data-testid="alarm-reset"]');
    await until(() => expect(transport.count('ResetAlarm')).toBe(1));
    expect(transport.calls.find((c) => c.method === 'ResetAlarm')!.params).toEqual(['a4']);
  });

  it('shows viewers the list with every action disabled and saying why', async () => {
    await open('viewer');
    const buttons = qa<HTMLButtonElement>('[data-testid="alarm-list"] button:not(.sort), [data-testid="alarm-ack-all"]');
    expect(buttons.length).toBeGreaterThan(0);
    for (const b of buttons) {
      expect(b.disabled).toBe(true);
      expect(b.title).toMatch(/Viewers cannot/);
    }
    expect(q('[data-testid="alarm-remove"]')).toBeNull();
  });

  it('lists shelved and suppressed alarms with Unshelve, and engineer actions with a reason', async () => {
    const hidden = [
      alarm({ id: 'h1', state: 'shelved', shelvedUntil: t(-60), by: 'bob', reason: 'maintenance' }),
      alarm({ id: 'h2', state: 'out-of-service', by: 'eng', reason: 'sensor removed' }),
    ];
    const { transport } = await open('engineer', { UnshelveAlarm: () => null, ReturnAlarmToService: () => null }, summaryOf(list, hidden));
    click('[data-testid="alarm-tab-hidden"]');
    expect(qa('[data-testid="hidden-row"]').map((r) => r.dataset.state)).toEqual(['shelved', 'out-of-service']);
    expect(text('[data-testid="hidden-row"][data-alarm-id="h1"]')).toContain('bob · maintenance');
    click('[data-alarm-id="h1"] [data-testid="alarm-unshelve"]');
    await until(() => expect(transport.count('UnshelveAlarm')).toBe(1));
    click('[data-alarm-id="h2"] [data-testid="alarm-return"]');
    type('[data-testid="reason-input"]', 'sensor back');
    click('[data-testid="reason-confirm"]');
    await until(() => expect(transport.count('ReturnAlarmToService')).toBe(1));
    expect(transport.calls.find((c) => c.method === 'ReturnAlarmToService')!.params).toEqual(['h2', 'sensor back']);
  });

  it('searches the history and exports it as a CSV file', async () => {
    const entries = [
      { time: t(3), id: 'a1', area: 'Crushing', unit: 'Crushing.CR01', priority: 'medium', message: 'Feed low, "belt 2"', from: 'normal', to: 'unacknowledged', cause: 'value', who: '', reason: '', value: 3 },
    ];
    const { transport } = await open('viewer', { AlarmHistory: () => entries });
    click('[data-testid="alarm-tab-history"]');
    type('[data-testid="history-from"]', '2026-05-01T08:00');
    type('[data-testid="history-to"]', '2026-05-01T16:00');
    choose('[data-testid="history-area"]', 'Crushing');
    type('[data-testid="history-text"]', 'feed');
    click('[data-testid="history-search"]');
    await until(() => expect(qa('[data-testid="history-row"]')).toHaveLength(1));
    const query = transport.calls.find((c) => c.method === 'AlarmHistory')!.params[0] as Record<string, unknown>;
    expect(query).toMatchObject({ area: 'Crushing', text: 'feed', from: new Date('2026-05-01T08:00').toISOString() });

    let blob: Blob | undefined;
    const created = vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => {
      blob = b as Blob;
      return 'blob:x';
    });
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
    let name = '';
    const clickSpy = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      name = this.download;
    });
    click('[data-testid="alarm-export"]');
    expect(created).toHaveBeenCalledOnce();
    expect(clickSpy).toHaveBeenCalled();
    expect(name).toBe('alarms-2026-05-01T0800-2026-05-01T1600.csv');
    expect(await blob!.text()).toContain('"Feed low, ""belt 2"""');
  });

  it('shows the KPIs per area', async () => {
    await open('viewer', {
      AlarmKPIs: () => [{ area: 'Crushing', last10min: 4, peak10min: 14, total: 120, avgPer10min: 1.2, avgPerHour: 7.5, floods: 2, floodShare: 0.05 }],
    });
    click('[data-testid="alarm-tab-kpi"]');
    await until(() => expect(q('[data-testid="kpi-row"][data-area="Crushing"]')).not.toBeNull());
    expect(text('[data-testid="kpi-row"]')).toContain('14');
    expect(text('[data-testid="kpi-row"]')).toContain('5.0 %');
  });
});
