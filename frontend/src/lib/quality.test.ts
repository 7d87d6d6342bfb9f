import { describe, expect, it } from 'vitest';
import { hex, qualityOf, statusName } from './quality';

describe('status codes', () => {
  it('derives quality from the top two bits only', () => {
    expect(qualityOf(0)).toBe('good');
    expect(qualityOf(0x00960000)).toBe('good');
    expect(qualityOf(0x40000000)).toBe('uncertain');
    expect(qualityOf(0x408f0000)).toBe('uncertain');
    expect(qualityOf(0x80000000)).toBe('bad');
    expect(qualityOf(0x80340000)).toBe('bad');
    expect(qualityOf(0xffffffff)).toBe('bad');
    expect(qualityOf(-2147483648)).toBe('bad'); // 0x80000000 as a signed int32
  });

  it('names common codes and falls back to hex', () => {
    expect(statusName(0)).toBe('Good');
    expect(statusName(0x80050000)).toBe('BadCommunicationError');
    expect(statusName(0x80340000)).toBe('BadNodeIdUnknown');
    expect(statusName(0x40900000)).toBe('UncertainLastUsableValue');
    expect(statusName(0x80050400)).toBe('BadCommunicationError (0x80050400)');
    expect(statusName(0x81230000)).toBe('0x81230000');
    expect(hex(0x1)).toBe('0x00000001');
  });
});
