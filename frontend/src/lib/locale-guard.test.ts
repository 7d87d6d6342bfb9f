import { describe, expect, it } from 'vitest';
import { guardLanguage, usableLanguage } from './locale-guard';

describe('locale guard', () => {
  it('accepts real language tags and refuses POSIX locales', () => {
    expect(usableLanguage('en-US')).toBe(true);
    expect(usableLanguage('fr')).toBe(true);
    expect(usableLanguage('C')).toBe(false);
    expect(usableLanguage('')).toBe(false);
    expect(usableLanguage(undefined)).toBe(false);
  });

  it('replaces an unusable navigator.language so Intl.NumberFormat works', () => {
    const nav = { language: 'C' } as unknown as Navigator;
    expect(() => new Intl.NumberFormat(nav.language)).toThrow(RangeError);
    guardLanguage(nav);
    expect(nav.language).toBe('en-US');
    expect(() => new Intl.NumberFormat(nav.language)).not.toThrow();
  });

  it('leaves a usable language alone', () => {
    const nav = { language: 'de-DE' } as unknown as Navigator;
    guardLanguage(nav);
    expect(nav.language).toBe('de-DE');
  });
});
