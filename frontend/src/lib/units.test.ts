import { describe, expect, it } from 'vitest';
import { keySignals, labelOf, modeText, runStateOf } from './units';
import type { Signal, Unit } from './types';

const sig = (name: string, dataType = 'Double', unit = ''): Signal => ({
  tag: `Pit.SH01.${name}`,
  name,
  description: name,
  unit,
  dataType,
  writable: false,
});

describe('units', () => {
  it('maps run state and mode', () => {
    expect([0, 1, 2, 7, null].map(runStateOf)).toEqual(['stopped', 'running', 'faulted', 'unknown', 'unknown']);
    expect([1, 0, null].map(modeText)).toEqual(['REM', 'LOC', '—']);
  });

  it('takes key signals from the model, else the first analogs', () => {
    const signals = [sig('RunState', 'Int32'), sig('Mode', 'Int32'), sig('HoistCurrentA'), sig('SwingSpeed'), sig('PowerKW')];
    const u: Unit = { id: 'Pit.SH01', area: 'Pit', name: 'SH01', displayName: '', kind: '', key: ['Pit.SH01.PowerKW'], signals };
    expect(keySignals(u).map((s) => s.name)).toEqual(['PowerKW']);
    expect(keySignals({ ...u, key: [] }).map((s) => s.name)).toEqual(['HoistCurrentA', 'SwingSpeed', 'PowerKW']);
  });

  it('makes readable labels without the unit suffix', () => {
    expect(labelOf('HoistCurrentA', 'A')).toBe('Hoist current');
    expect(labelOf('BearingTempC', '°C')).toBe('Bearing temp');
    expect(labelOf('VibrationMmS', 'mm/s')).toBe('Vibration');
    expect(labelOf('CssSP', 'mm')).toBe('Css SP');
    expect(labelOf('Starts')).toBe('Starts');
    expect(labelOf('DigRateTPH', 't/h')).toBe('Dig rate');
    expect(labelOf('FlowM3H', 'm³/h')).toBe('Flow');
    expect(labelOf('LevelPct', '%')).toBe('Level');
    expect(labelOf('PowerFactor', '')).toBe('Power factor');
  });
});
