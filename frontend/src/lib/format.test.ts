import { describe, expect, it } from 'vitest';
import { formatAge, formatValue } from './format';

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [-5000, '0s'],
    [12_400, '12s'],
    [59_999, '59s'],
    [60_000, '1m00s'],
    [245_000, '4m05s'],
    [3_600_000, '1h00m'],
    [3 * 3_600_000 + 4 * 60_000, '3h04m'],
    [2 * 86_400_000 + 3 * 3_600_000, '2d03h'],
    [NaN, '—'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});

describe('formatValue', () => {
  it('formats by type and magnitude', () => {
    expect(formatValue(null)).toBe('—');
    expect(formatValue(true)).toBe('ON');
    expect(formatValue(false)).toBe('OFF');
    expect(formatValue('Auto')).toBe('Auto');
    expect(formatValue(1234.56, 'Double')).toBe('1235');
    expect(formatValue(123.456, 'Double')).toBe('123.5');
    expect(formatValue(1.23456, 'Double')).toBe('1.23');
    expect(formatValue(7, 'Int32')).toBe('7');
    expect(formatValue(42, 'UInt32')).toBe('42');
  });
});
