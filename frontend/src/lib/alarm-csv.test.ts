import { describe, expect, it } from 'vitest';
import { alarmsCsv, csvField, csvFileName } from './alarm-csv';
import type { JournalEntry } from './types';

describe('alarm CSV', () => {
  it('quotes fields with commas, quotes and line breaks and doubles the quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(-3)).toBe('-3');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
  });

  it('writes a header and one CRLF line per entry', () => {
    const e: JournalEntry = {
      time: '2026-05-01T08:00:00Z',
      id: 'Crushing.CR01.Temp:HI',
      area: 'Crushing',
      unit: 'Crushing.CR01',
      priority: 'high',
      message: 'Temp high, "bearing" 2',
      from: 'normal',
      to: 'unacknowledged',
      cause: 'value 91.5 > 85',
      who: '',
      reason: '',
      value: 91.5,
    };
    expect(alarmsCsv([e])).toBe(
      'time,id,area,unit,priority,message,from,to,cause,who,reason,value\r\n' +
        '2026-05-01T08:00:00Z,Crushing.CR01.Temp:HI,Crushing,Crushing.CR01,high,"Temp high, ""bearing"" 2",normal,unacknowledged,value 91.5 > 85,,,91.5\r\n',
    );
  });

  it('names the file after the range', () => {
    expect(csvFileName('2026-05-01T08:00', '2026-05-01T16:30')).toBe('alarms-2026-05-01T0800-2026-05-01T1630.csv');
    expect(csvFileName('', '')).toBe('alarms-start-now.csv');
  });
});
