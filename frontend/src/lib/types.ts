// The engine's JSON shapes (docs/architecture.md, Contract 2). Field names are the wire names.

export interface Signal {
  tag: string;
  name: string;
  description: string;
  unit?: string;
  low?: number;
  high?: number;
  dataType: string;
  writable: boolean;
}

export interface Unit {
  id: string;
  area: string;
  name: string;
  displayName: string;
  kind: string;
  key: string[];
  signals: Signal[];
  /** Optional: the connection that delivers this unit's values (not in Contract 2 yet). */
  connection?: string;
}

export interface Area {
  name: string;
  units: Unit[];
}

export interface Model {
  site: string;
  areas: Area[];
}

export type Value = number | boolean | string | null;

export interface TagValue {
  t: string;
  v: Value;
  /** OPC UA status code, uint32; 0 = Good. */
  q: number;
  /** Source timestamp, ms since epoch. */
  ts: number;
  /** Server timestamp, ms since epoch. */
  st: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'stale' | 'disconnected';

export interface Connection {
  name: string;
  endpoint: string;
  state: ConnectionState;
  lastError: string;
  lastDataAt: number;
  items: number;
  rate: number;
}

/** Recording into the historian; absent when history is off. */
export interface History {
  state: 'recording' | 'failing';
  lastError: string;
  dropped: number;
  file: string;
}

export interface Status {
  now: number;
  connections: Connection[];
  history?: History;
}

export interface ReadyInfo {
  units: number;
  values: number;
}
