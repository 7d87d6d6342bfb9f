import type { Signal, Unit } from './types';

// What the screens pick out of a unit.

export const RUN_STATE = 'RunState';
export const MODE = 'Mode';

export type RunState = 'stopped' | 'running' | 'faulted' | 'unknown';

export function runStateOf(v: unknown): RunState {
  switch (v) {
    case 0:
      return 'stopped';
    case 1:
      return 'running';
    case 2:
      return 'faulted';
    default:
      return 'unknown';
  }
}

/** "REM" or "LOC" from the Mode signal (1 remote, 0 local). */
export function modeText(v: unknown): string {
  if (v === 1 || v === true) return 'REM';
  if (v === 0 || v === false) return 'LOC';
  return '—';
}

/** Display text for the enumerated signals every unit has; undefined for the rest. */
export function enumText(name: string): ((v: unknown) => string) | undefined {
  if (name === RUN_STATE) return (v) => `${String(v)} ${runStateOf(v)}`;
  if (name === MODE) return (v) => `${String(v)} ${modeText(v) === 'REM' ? 'remote' : modeText(v) === 'LOC' ? 'local' : '?'}`;
  return undefined;
}

export function signalNamed(unit: Unit, name: string): Signal | undefined {
  return unit.signals.find((s) => s.name === name);
}

/** The 2–3 signals a tile shows: the model's key list, else the first analogs. */
export function keySignals(unit: Unit, max = 3): Signal[] {
  const byTag = new Map(unit.signals.map((s) => [s.tag, s]));
  const picked = (unit.key ?? []).map((t) => byTag.get(t)).filter((s): s is Signal => !!s);
  if (picked.length > 0) return picked.slice(0, max);
  return unit.signals
    .filter((s) => s.name !== RUN_STATE && s.name !== MODE && s.dataType === 'Double')
    .slice(0, max);
}

/**
 * "HoistCurrentA" with unit "A" -> "Hoist current": a readable label for a tile. The unit is
 * shown beside the value, so a name ending in it loses it here.
 */
export function labelOf(name: string, unit = ''): string {
  let base = name;
  for (const eu of unitSpellings(unit)) {
    if (base.length > eu.length && base.toLowerCase().endsWith(eu)) {
      base = base.slice(0, -eu.length);
      break;
    }
  }
  const words = base
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim()
    .split(/\s+/);
  // Lower-case ordinary capitalised words after the first; keep acronyms (CSS, SP) as they are.
  return words.map((w, i) => (i > 0 && /^[A-Z][a-z]+$/.test(w) ? w.toLowerCase() : w)).join(' ');
}

/** How a unit is spelled at the end of a signal name: "t/h" -> th, tph; "m³/h" -> m3h; "%" -> pct. */
function unitSpellings(unit: string): string[] {
  const u = unit.replace(/³/g, '3').replace(/²/g, '2').replace(/%/g, 'pct');
  const clean = (x: string) => x.replace(/[^a-zA-Z0-9]/g, '').toLowerCase();
  return [...new Set([clean(u.replace(/\//g, 'p')), clean(u)])].filter((x) => x.length > 0);
}
