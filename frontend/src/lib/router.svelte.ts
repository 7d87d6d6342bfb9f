// Hash routing: #/ is the overview, #/unit/<unit id> a unit view, #/connections the OPC UA
// connections page. Hash routes work the same from Wails' asset server and from
// `minebrain serve` with no server-side routes.

export type Route = { page: 'overview' } | { page: 'unit'; id: string } | { page: 'connections' };

export const CONNECTIONS_HREF = '#/connections';

export function parseHash(hash: string): Route {
  const m = /^#\/unit\/(.+)$/.exec(hash);
  if (m) {
    try {
      return { page: 'unit', id: decodeURIComponent(m[1]) };
    } catch {
      return { page: 'overview' };
    }
  }
  if (/^#\/connections\/?$/.test(hash)) return { page: 'connections' };
  return { page: 'overview' };
}

export function unitHref(id: string): string {
  return `#/unit/${encodeURIComponent(id)}`;
}

export class Router {
  route = $state<Route>({ page: 'overview' });
  /** The unit last opened, so the overview can put focus back on its tile. */
  lastUnit = $state<string | null>(null);

  constructor(private readonly w: Window = window) {
    this.route = parseHash(w.location.hash);
    w.addEventListener('hashchange', () => {
      const r = parseHash(w.location.hash);
      if (r.page === 'unit') this.lastUnit = r.id;
      this.route = r;
    });
    if (this.route.page === 'unit') this.lastUnit = this.route.id;
  }

  overview(): void {
    this.w.location.hash = '#/';
  }

  connections(): void {
    this.w.location.hash = CONNECTIONS_HREF;
  }
}
