// Hash routing: #/ is the overview, #/unit/<unit id> a unit view, #/connections the OPC UA
// connections page, #/trend?tags=a,b&range=1h the trend of up to 8 tags, #/alarms, #/audit,
// #/users and #/plugins their pages. Hash routes work the same from Wails' asset server and from
// `minebrain serve` with no server-side routes.

export type Route =
  | { page: 'overview' }
  | { page: 'unit'; id: string }
  | { page: 'connections' }
  | { page: 'alarms' }
  | { page: 'audit' }
  | { page: 'users' }
  | { page: 'plugins' }
  | { page: 'trend'; tags: string[]; range: string };

export const CONNECTIONS_HREF = '#/connections';
export const ALARMS_HREF = '#/alarms';
export const AUDIT_HREF = '#/audit';
export const USERS_HREF = '#/users';
export const PLUGINS_HREF = '#/plugins';

/** Tags a trend shows at most. */
export const TREND_MAX_TAGS = 8;
/** Quick ranges a trend route may name. */
export const TREND_RANGES = ['10m', '1h', '8h', '24h', '7d'];

function parseTrend(query: string): Route {
  // Split the raw query: a comma inside a tag travels as %2C and must not split it.
  const raw = new Map<string, string>();
  for (const part of query.split('&')) {
    const i = part.indexOf('=');
    if (i > 0) raw.set(part.slice(0, i), part.slice(i + 1));
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' ')).trim();
    } catch {
      return '';
    }
  };
  const tags = [...new Set((raw.get('tags') ?? '').split(',').map(decode).filter(Boolean))].slice(0, TREND_MAX_TAGS);
  const r = decode(raw.get('range') ?? '');
  return { page: 'trend', tags, range: TREND_RANGES.includes(r) ? r : '1h' };
}

/** The trend of `tags` (at most 8 are kept) over a quick range ("10m", "1h", "8h", "24h", "7d"). */
export function trendHref(tags: string[], range = '1h'): string {
  const list = [...new Set(tags)].slice(0, TREND_MAX_TAGS).map(encodeURIComponent).join(',');
  return `#/trend?tags=${list}&range=${encodeURIComponent(range)}`;
}

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
  if (/^#\/alarms\/?$/.test(hash)) return { page: 'alarms' };
  if (/^#\/audit\/?$/.test(hash)) return { page: 'audit' };
  if (/^#\/users\/?$/.test(hash)) return { page: 'users' };
  if (/^#\/plugins\/?$/.test(hash)) return { page: 'plugins' };
  const t = /^#\/trend\/?(?:\?(.*))?$/.exec(hash);
  if (t) return parseTrend(t[1] ?? '');
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

  trend(tags: string[], range = '1h'): void {
    this.w.location.hash = trendHref(tags, range);
  }

  connections(): void {
    this.w.location.hash = CONNECTIONS_HREF;
  }
}
