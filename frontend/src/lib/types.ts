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
  /** The site connection that delivers this unit's values (optional for older engines). */
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
  /** The endpoint in use, e.g. "Basic256Sha256 · SignAndEncrypt · username"; "" before the first session. */
  security?: string;
  /** What the connection cannot monitor (missing nodes, browse rules that matched nothing). */
  problems?: string[];
  /** Present while the server's certificate is refused: the trust prompt. */
  certificate?: CertificatePrompt;
}

/** A server certificate waiting for someone to trust it. */
export interface CertificatePrompt {
  /** 'untrusted': never seen; 'changed': another certificate is pinned to this connection. */
  reason: 'untrusted' | 'changed';
  thumbprint: string;
  subject: string;
  issuer: string;
  applicationUri: string;
  /** Validity, ms since epoch. */
  notBefore: number;
  notAfter: number;
  /** Thumbprint of the certificate the connection expected ('changed' only). */
  pinned?: string;
}

export type NodeClass =
  | 'Object'
  | 'Variable'
  | 'Method'
  | 'ObjectType'
  | 'VariableType'
  | 'ReferenceType'
  | 'DataType'
  | 'View'
  | 'Unspecified';

/** One node of a Browse reply: depth 0 is the browsed node itself, depth 1 its children. */
export interface BrowseNode {
  depth: number;
  /** Browse names from the browsed node, joined with "/". */
  path: string;
  browseName: string;
  nodeClass: NodeClass | string;
  nodeId: string;
  /** Variables only. */
  dataType?: string;
  value?: unknown;
  /** Status name of the value read ("Good", "BadNodeIdUnknown", "0x80AB0000"), variables only. */
  status?: string;
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

/** History(req): the trend of up to 8 tags over [from, to) (ms) in `buckets` buckets (1..5000). */
export interface HistoryRequest {
  tags: string[];
  from: number;
  to: number;
  buckets: number;
}

/** One aggregate bucket; `t` is its start (ms). Values without data are null. */
export interface HistoryBucket {
  t: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  first: number | null;
  last: number | null;
  count: number;
  /** Percent of the bucket's time held by good values; null for an empty bucket. */
  good: number | null;
}

/** One raw sample: ms, value (null for NaN), OPC UA status code. */
export interface HistoryPoint {
  t: number;
  v: number | null;
  q: number;
}

/** One tag's trend: `raw` when the range holds fewer than ~2 × buckets samples, else `buckets`. */
export interface HistorySeries {
  tag: string;
  unit: string;
  buckets: HistoryBucket[];
  raw?: HistoryPoint[];
}

export interface HistoryReply {
  from: number;
  to: number;
  series: HistorySeries[];
}
