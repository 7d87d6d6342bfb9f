import { describe, expect, it } from 'vitest';
import { CONNECTIONS_HREF, parseHash, trendHref, unitHref } from './router.svelte';

describe('routes', () => {
  it('parses overview and unit routes', () => {
    expect(parseHash('')).toEqual({ page: 'overview' });
    expect(parseHash('#/')).toEqual({ page: 'overview' });
    expect(parseHash('#/unit/Pit.SH01')).toEqual({ page: 'unit', id: 'Pit.SH01' });
    expect(parseHash(unitHref('Water/Sump 1'))).toEqual({ page: 'unit', id: 'Water/Sump 1' });
    expect(parseHash('#/unit/%E0%A4%A')).toEqual({ page: 'overview' });
  });

  it('parses the connections route', () => {
    expect(parseHash(CONNECTIONS_HREF)).toEqual({ page: 'connections' });
    expect(parseHash('#/connections/')).toEqual({ page: 'connections' });
    expect(parseHash('#/connectionsX')).toEqual({ page: 'overview' });
    expect(parseHash('#/connections/sim/extra')).toEqual({ page: 'overview' });
  });

  it('parses trend routes and builds their links', () => {
    expect(parseHash('#/trend?tags=Pit.SH01.HoistCurrentA,Pit.SH01.PowerKW&range=8h')).toEqual({
      page: 'trend',
      tags: ['Pit.SH01.HoistCurrentA', 'Pit.SH01.PowerKW'],
      range: '8h',
    });
    expect(parseHash('#/trend?tags=A')).toEqual({ page: 'trend', tags: ['A'], range: '1h' });
    expect(parseHash('#/trend?tags=A&range=1y')).toEqual({ page: 'trend', tags: ['A'], range: '1h' });
    expect(parseHash('#/trend')).toEqual({ page: 'trend', tags: [], range: '1h' });
    expect(parseHash('#/trend?tags=A,,A,B')).toEqual({ page: 'trend', tags: ['A', 'B'], range: '1h' });
    const odd = ['Water.Sump 1.Level,m', 'Pit.SH01.X&y'];
    expect(parseHash(trendHref(odd, '7d'))).toEqual({ page: 'trend', tags: odd, range: '7d' });
    const many = Array.from({ length: 12 }, (_, i) => `T${i}`);
    expect(parseHash(trendHref(many)).page === 'trend' && (parseHash(trendHref(many)) as { tags: string[] }).tags).toEqual(many.slice(0, 8));
    expect(trendHref(['A', 'B'], '10m')).toBe('#/trend?tags=A,B&range=10m');
  });
});
