import { describe, expect, it } from 'vitest';
import {
  checkTag,
  formatThumbprint,
  guessArea,
  guessTag,
  reasonText,
  sameThumbprint,
  statusQuality,
  tagPart,
  validity,
} from './connections';
import type { Model } from './types';

const model = (conn?: (area: string) => string | undefined): Model => ({
  site: 'S',
  areas: ['Pit', 'Water', 'Power'].map((area, i) => ({
    name: area,
    units: Array.from({ length: i + 1 }, (_, n) => ({
      id: `${area}.U${n}`,
      area,
      name: `U${n}`,
      displayName: `U${n}`,
      kind: 'K',
      key: [],
      signals: [],
      connection: conn?.(area),
    })),
  })),
});

describe('certificate prompt wording', () => {
  it('says what happened in plain words', () => {
    expect(reasonText('untrusted')).toBe('The server presented a certificate Minebrain has never seen');
    expect(reasonText('changed')).toMatch(/CHANGED since it was trusted .* different machine or an attack/);
  });
});

describe('formatThumbprint', () => {
  it('groups hex in fours, upper case', () => {
    expect(formatThumbprint('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678')).toBe(
      'A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90 1234 5678',
    );
    expect(formatThumbprint('AB:CD:EF:01:23')).toBe('ABCD EF01 23');
  });

  it('leaves something that is not hex alone', () => {
    expect(formatThumbprint('sha256/xyz')).toBe('sha256/xyz');
    expect(formatThumbprint('')).toBe('');
  });

  it('compares thumbprints however they are written', () => {
    expect(sameThumbprint('ab:cd', 'ABCD')).toBe(true);
    expect(sameThumbprint('abcd', 'abce')).toBe(false);
    expect(sameThumbprint('', '')).toBe(false);
  });
});

describe('validity', () => {
  const cert = { notBefore: 1000, notAfter: 2000 };
  it('flags expired and not yet valid certificates', () => {
    expect(validity(cert, 1500)).toBe('valid');
    expect(validity(cert, 999)).toBe('not-yet-valid');
    expect(validity(cert, 2001)).toBe('expired');
    expect(validity({ notBefore: 0, notAfter: 0 }, 5)).toBe('unknown');
  });
});

describe('statusQuality', () => {
  it('reads status names and hex codes', () => {
    expect(statusQuality('Good')).toBe('good');
    expect(statusQuality('GoodClamped')).toBe('good');
    expect(statusQuality('UncertainLastUsableValue')).toBe('uncertain');
    expect(statusQuality('BadNodeIdUnknown')).toBe('bad');
    expect(statusQuality('0x40000000')).toBe('uncertain');
    expect(statusQuality('0x00000000')).toBe('good');
    expect(statusQuality(undefined)).toBeNull();
    expect(statusQuality('')).toBeNull();
  });
});

describe('tags', () => {
  it('cleans browse names into tag parts', () => {
    expect(tagPart('Hoist current (A)')).toBe('Hoist_current_A');
    expect(tagPart('Förderband-1')).toBe('Förderband-1');
    expect(tagPart('a.b')).toBe('a_b');
  });

  it('checks tags like the site file does', () => {
    expect(checkTag('Pit.SH01.HoistCurrentA')).toBe('');
    expect(checkTag('Pit.SH01')).toMatch(/Area\.Unit\.Signal/);
    expect(checkTag('Pit..X')).toMatch(/unit name is empty/);
    expect(checkTag('Pit.SH 01.X')).toMatch(/unit name "SH 01" contains " "/);
  });

  it('guesses the area from the browse path first', () => {
    expect(guessArea(model(), 'sim', ['Mine', 'water'])).toBe('Water');
  });

  it("else from the connection's units, else from the only connection's units, else its name", () => {
    expect(guessArea(model((a) => (a === 'Pit' ? 'plc1' : 'plc2')), 'plc1')).toBe('Pit');
    expect(guessArea(model(), 'sim')).toBe('Power'); // the area with most units
    expect(guessArea(model((a) => (a === 'Pit' ? 'plc1' : 'plc2')), 'new plc')).toBe('New_plc');
    expect(guessArea(null, 'sim')).toBe('Sim');
  });

  it('guesses <area>.<parent>.<name> for a variable', () => {
    expect(guessTag(model(), 'sim', ['Mine', 'Pit', 'SH01', 'HoistCurrentA'])).toBe('Pit.SH01.HoistCurrentA');
    expect(guessTag(null, 'plc', ['Line 2', 'Motor speed'])).toBe('Plc.Line_2.Motor_speed');
    expect(guessTag(null, 'plc', ['Speed'])).toBe('Plc.Unit.Speed');
    const t = guessTag(model(), 'sim', ['Server', 'ServerStatus', 'CurrentTime']);
    expect(checkTag(t)).toBe('');
  });
});

describe('browsed values', () => {
  it('formats like the rest of the page, structures as short JSON', async () => {
    const { browseValue, nodeClassIcon } = await import('./connections');
    expect(browseValue(812.25, 'Double')).toBe('812.3');
    expect(browseValue(3, 'Int32')).toBe('3');
    expect(browseValue(true)).toBe('ON');
    expect(browseValue(undefined)).toBe('—');
    expect(browseValue([1, 2, 3])).toBe('[1,2,3]');
    expect(browseValue({ a: 'x'.repeat(200) })).toHaveLength(80);
    expect(nodeClassIcon('Variable')).not.toBe(nodeClassIcon('Object'));
  });
});
