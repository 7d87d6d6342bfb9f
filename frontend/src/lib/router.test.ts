import { describe, expect, it } from 'vitest';
import { CONNECTIONS_HREF, parseHash, unitHref } from './router.svelte';

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
});
