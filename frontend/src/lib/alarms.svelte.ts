import type { Transport } from './transport/transport';
import { EngineApi, isAlarmSummary, normalizeSummary } from './transport/engine-api';
import type { AlarmState, AlarmSummary, AlarmView, Priority } from './types';
import { PRIORITIES } from './types';

// The alarm summary the banner and the alarm list show: read with Alarms() at start (and after
// a reconnect), then replaced by every "alarms" event (the engine coalesces them to ≤ 10/s).

export class AlarmStore {
  summary = $state.raw<AlarmSummary | null>(null);
  /** Why the summary could not be read ("" when it could). Shown in the banner. */
  error = $state('');
  private readonly api: EngineApi;
  /** Events received so far: a load compares it to know whether its reply is older. */
  private events = 0;

  constructor(private readonly transport: Transport) {
    this.api = new EngineApi(transport);
  }

  /** Follows the "alarms" event and reads the summary; returns the unsubscribe function. */
  start(): () => void {
    const off = this.transport.on('alarms', (s: unknown) => this.apply(s));
    void this.load();
    return off;
  }

  async load(): Promise<void> {
    const seen = this.events;
    try {
      const s = await this.api.alarms();
      if (this.events === seen) this.summary = normalizeSummary(s);
      this.error = '';
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  apply(s: unknown): void {
    if (!isAlarmSummary(s)) return;
    this.events++;
    this.summary = normalizeSummary(s);
    this.error = '';
  }
}

/** Colour-independent cues per priority: a shape and a letter go with every colour. */
export const PRIORITY_CUE: Record<Priority, { shape: string; letter: string; label: string }> = {
  critical: { shape: '◆', letter: 'C', label: 'Critical' },
  high: { shape: '▲', letter: 'H', label: 'High' },
  medium: { shape: '■', letter: 'M', label: 'Medium' },
  low: { shape: '●', letter: 'L', label: 'Low' },
};

export const STATE_LABEL: Record<AlarmState, string> = {
  normal: 'Normal',
  unacknowledged: 'Unacknowledged',
  acknowledged: 'Acknowledged',
  'rtn-unacknowledged': 'Returned, unacknowledged',
  latched: 'Latched',
  shelved: 'Shelved',
  suppressed: 'Suppressed',
  'out-of-service': 'Out of service',
};

/** States an operator acknowledges. */
export function needsAck(a: AlarmView): boolean {
  return a.state === 'unacknowledged' || a.state === 'rtn-unacknowledged';
}

export function priorityRank(p: Priority): number {
  const i = PRIORITIES.indexOf(p);
  return i < 0 ? PRIORITIES.length : i;
}

/** RFC 3339 → ms (0 when absent or unreadable). */
export function ms(t: string | null | undefined): number {
  if (!t) return 0;
  const v = Date.parse(t);
  return Number.isFinite(v) ? v : 0;
}

/** The time an alarm row sorts and shows by: when it was raised, else when it entered its state. */
export function alarmTime(a: AlarmView): number {
  return ms(a.raised) || ms(a.since);
}

export type AlarmSortKey = 'time' | 'priority' | 'area';

export interface AlarmFilter {
  area: string;
  priority: Priority | '';
}

/** The rows of the alarm list: filtered, then sorted (ties: priority, then newest first). */
export function visibleAlarms(
  list: AlarmView[],
  filter: AlarmFilter,
  key: AlarmSortKey,
  descending: boolean,
): AlarmView[] {
  const rows = list.filter((a) => (!filter.area || a.area === filter.area) && (!filter.priority || a.priority === filter.priority));
  const byTime = (a: AlarmView, b: AlarmView) => alarmTime(b) - alarmTime(a);
  const byPrio = (a: AlarmView, b: AlarmView) => priorityRank(a.priority) - priorityRank(b.priority);
  const byArea = (a: AlarmView, b: AlarmView) => a.area.localeCompare(b.area);
  const primary = key === 'time' ? byTime : key === 'priority' ? byPrio : byArea;
  // "descending" means newest / most urgent / Z first; each primary above is written in the
  // natural reading order (newest, most urgent, A first).
  const sign = key === 'area' ? (descending ? -1 : 1) : descending ? 1 : -1;
  return rows
    .map((a, i) => ({ a, i }))
    .sort((x, y) => sign * primary(x.a, y.a) || byPrio(x.a, y.a) || byTime(x.a, y.a) || x.i - y.i)
    .map((x) => x.a);
}
