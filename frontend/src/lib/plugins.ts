import type { PluginMode, PluginState } from './types';

// Pure helpers of the Plugins page (#/plugins).

export const PLUGIN_MODES: PluginMode[] = ['off', 'shadow', 'auto'];

export const NEEDS_ENGINEER = 'Only an engineer can do this (needs an engineer).';

export function stateText(s: PluginState | string): string {
  switch (s) {
    case 'running':
      return 'RUNNING';
    case 'faulted':
      return 'FAULTED';
    case 'off':
      return 'OFF';
    case 'loading':
      return 'LOADING';
    default:
      return String(s).toUpperCase() || '—';
  }
}

export function modeText(m: PluginMode | string): string {
  return String(m).toUpperCase() || '—';
}

/** A Go time.Duration (nanoseconds) as µs, ms or s with three significant digits. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns) || ns <= 0) return '0 µs';
  const us = ns / 1000;
  if (us < 1000) return `${sig(us)} µs`;
  const ms = us / 1000;
  if (ms < 1000) return `${sig(ms)} ms`;
  return `${sig(ms / 1000)} s`;
}

function sig(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Bytes as B, KiB, MiB or GiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${sig(v)} ${units[i]}`;
}

/** A limit or value of a setpoint for display: integers as they are, others to 4 significant digits. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** The first word of a write outcome ("refused: …" → "refused"), for styling. */
export function outcomeKind(outcome: string): string {
  const i = outcome.indexOf(':');
  return (i >= 0 ? outcome.slice(0, i) : outcome).trim();
}
