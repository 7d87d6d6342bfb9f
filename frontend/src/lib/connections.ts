import type { CertificatePrompt, Connection, Model } from './types';
import type { Quality } from './quality';
import { qualityOf } from './quality';
import { formatValue } from './format';

// Pure helpers of the Connections page: certificate wording, thumbprints, validity, and the
// tag guess for a browsed variable.

/** The trust prompt's reason in plain words. */
export function reasonText(reason: CertificatePrompt['reason'] | string): string {
  if (reason === 'changed') {
    return "The server's certificate CHANGED since it was trusted — this may be a different machine or an attack";
  }
  return 'The server presented a certificate Minebrain has never seen';
}

/** A thumbprint as upper-case hex in groups of four ("AB12 CD34 …"); anything else as given. */
export function formatThumbprint(tp: string): string {
  const hex = (tp ?? '').replace(/[\s:-]/g, '');
  if (!/^[0-9a-fA-F]+$/.test(hex)) return tp ?? '';
  return hex.toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
}

/** Whether two thumbprints name the same certificate, however they are written. */
export function sameThumbprint(a: string, b: string): boolean {
  const norm = (s: string) => (s ?? '').replace(/[\s:-]/g, '').toLowerCase();
  return norm(a) !== '' && norm(a) === norm(b);
}

export type Validity = 'valid' | 'expired' | 'not-yet-valid' | 'unknown';

/** The certificate's validity at `now` (ms since epoch). */
export function validity(cert: Pick<CertificatePrompt, 'notBefore' | 'notAfter'>, now: number): Validity {
  if (!cert.notBefore && !cert.notAfter) return 'unknown';
  if (cert.notBefore && now < cert.notBefore) return 'not-yet-valid';
  if (cert.notAfter && now > cert.notAfter) return 'expired';
  return 'valid';
}

/** Quality of a Browse status name: "Good…", "Uncertain…", "Bad…" or a hex code; null if none. */
export function statusQuality(status: string | undefined): Quality | null {
  if (!status) return null;
  if (/^Good/.test(status)) return 'good';
  if (/^Uncertain/.test(status)) return 'uncertain';
  if (/^Bad/.test(status)) return 'bad';
  const m = /^0x([0-9a-f]{1,8})$/i.exec(status.trim());
  if (m) return qualityOf(parseInt(m[1], 16));
  return 'bad';
}

/** A browse name made fit for one part of a tag: letters, digits, _ and - only. */
export function tagPart(name: string): string {
  const s = (name ?? '').trim().replace(/[^\p{L}\p{N}_-]+/gu, '_').replace(/^_+|_+$/g, '');
  return s;
}

/** What is wrong with a tag, or "" (the site file's rule: Area.Unit.Signal of letters, digits, _ and -). */
export function checkTag(tag: string): string {
  const parts = tag.split('.');
  if (parts.length !== 3) return 'A tag is Area.Unit.Signal: three names separated by dots, e.g. Plant.Pump1.FlowM3h';
  const what = ['area', 'unit', 'signal'];
  for (let i = 0; i < 3; i++) {
    if (parts[i] === '') return `The ${what[i]} name is empty`;
    const bad = /[^\p{L}\p{N}_-]/u.exec(parts[i]);
    if (bad) return `The ${what[i]} name "${parts[i]}" contains "${bad[0]}"; use letters, digits, _ and - only`;
  }
  return '';
}

/**
 * The area a connection's new tags most likely belong to: an ancestor in the browse path that
 * is an area of the site, else the area most of this connection's units are in, else the
 * connection's name.
 */
export function guessArea(model: Model | null, connection: Connection | string, ancestors: string[] = []): string {
  const name = typeof connection === 'string' ? connection : connection.name;
  const areas = model?.areas ?? [];
  const known = new Map(areas.map((a) => [a.name.toLowerCase(), a.name]));
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const hit = known.get(tagPart(ancestors[i]).toLowerCase());
    if (hit) return hit;
  }
  const count = new Map<string, number>();
  const units = areas.flatMap((a) => a.units);
  const mine = units.filter((u) => u.connection === name);
  // With no unit→connection mapping, a page with one connection owns every unit.
  const pool = mine.length > 0 ? mine : units.some((u) => u.connection) ? [] : units;
  for (const u of pool) count.set(u.area, (count.get(u.area) ?? 0) + 1);
  let best = '';
  let n = 0;
  for (const [a, c] of count) if (c > n) [best, n] = [a, c];
  if (best) return best;
  const fallback = tagPart(name);
  return fallback ? fallback.charAt(0).toUpperCase() + fallback.slice(1) : 'Area';
}

/**
 * The tag offered for a browsed variable: <area>.<parent browse name>.<browse name>. `path`
 * is the browse names from Objects down to the variable itself.
 */
export function guessTag(model: Model | null, connection: Connection | string, path: string[]): string {
  const names = path.filter((p) => p !== '');
  const signal = tagPart(names[names.length - 1] ?? '') || 'Signal';
  const parent = tagPart(names[names.length - 2] ?? '') || 'Unit';
  const area = guessArea(model, connection, names.slice(0, -2));
  return `${area}.${parent}.${signal}`;
}

/** A browsed value for display: numbers and flags like the rest of the page, structures as JSON. */
export function browseValue(v: unknown, dataType = ''): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return formatValue(v, dataType);
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** A short symbol for a node class, shown beside its name (with the class as text for AT). */
export function nodeClassIcon(nodeClass: string): string {
  switch (nodeClass) {
    case 'Object':
      return '▣';
    case 'Variable':
      return '◆';
    case 'Method':
      return 'ƒ';
    case 'View':
      return '◫';
    case 'ObjectType':
    case 'VariableType':
    case 'ReferenceType':
    case 'DataType':
      return 'T';
    default:
      return '·';
  }
}
