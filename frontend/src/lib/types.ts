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

// ---- Issue 5: users, alarms, control, audit (docs: the engine's issue-5 contract) ----

export type Role = 'viewer' | 'operator' | 'engineer' | 'admin';

export interface User {
  name: string;
  role: Role;
}

export type Priority = 'critical' | 'high' | 'medium' | 'low';
export const PRIORITIES: Priority[] = ['critical', 'high', 'medium', 'low'];

export type AlarmState =
  | 'normal'
  | 'unacknowledged'
  | 'acknowledged'
  | 'rtn-unacknowledged'
  | 'latched'
  | 'shelved'
  | 'suppressed'
  | 'out-of-service';

export interface AlarmView {
  id: string;
  tag: string;
  area: string;
  unit: string;
  priority: Priority;
  /** HI, HIHI, LO, LOLO, discrete, rate, bad-quality, system */
  kind: string;
  message: string;
  state: AlarmState;
  /** The condition holds now. */
  active: boolean;
  value: number | null;
  limit: number | null;
  /** RFC 3339: entered this state. */
  since: string;
  /** RFC 3339: the last time it became active. */
  raised: string | null;
  shelvedUntil?: string;
  by?: string;
  reason?: string;
}

export interface AlarmCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unacknowledged: number;
  total: number;
}

export interface AlarmFlood {
  area: string;
  count: number;
  since: string;
}

export interface AlarmSummary {
  counts: AlarmCounts;
  newest: AlarmView | null;
  active: AlarmView[];
  hidden: AlarmView[];
  floods: AlarmFlood[];
}

export interface AckResult {
  acknowledged: number;
  errors: string[];
}

export interface AlarmHistoryQuery {
  from?: string;
  to?: string;
  area?: string;
  priority?: Priority;
  text?: string;
  limit?: number;
}

export interface JournalEntry {
  time: string;
  id: string;
  area: string;
  unit: string;
  priority: Priority;
  message: string;
  from: AlarmState;
  to: AlarmState;
  cause: string;
  who: string;
  reason: string;
  value: number | null;
}

export interface AreaKPI {
  area: string;
  last10min: number;
  peak10min: number;
  total: number;
  avgPer10min: number;
  avgPerHour: number;
  floods: number;
  floodShare: number;
}

export type CommandName = 'start' | 'stop';

export interface PanelCommand {
  command: CommandName;
  allowed: boolean;
  why: string;
}

export interface PanelSetpoint {
  tag: string;
  signal: string;
  eu: string;
  value: number | null;
  quality: string;
  min: number;
  max: number;
  /** 0 = no rate limit. */
  maxRatePerMin: number;
  role: string;
  allowed: boolean;
  why: string;
}

export interface ControlPanelView {
  unit: string;
  mode: 'remote' | 'local' | 'unknown';
  runState: number | null;
  commands: PanelCommand[];
  setpoints: PanelSetpoint[];
}

export interface CommandRequest {
  unit: string;
  command: CommandName | 'setpoint';
  tag?: string;
  value?: number;
  reason?: string;
}

export interface Selection {
  id: string;
  unit: string;
  command: string;
  tag: string;
  current: string;
  new: string;
  expires: string;
  confirmWithinMs: number;
}

export type CommandOutcome = 'done' | 'rejected' | 'timed out' | 'refused';

export interface CommandResult {
  outcome: CommandOutcome;
  message: string;
}

export interface AuditQuery {
  since?: string;
  limit?: number;
  text?: string;
}

export interface AuditEntry {
  seq: number;
  time: string;
  who: string;
  face: string;
  action: string;
  target: string;
  old: string;
  new: string;
  reason: string;
  result: string;
  prev_hash: string;
  hash: string;
}

export interface AuditReport {
  ok: boolean;
  entries: number;
  problems: string[];
}

export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  changed: string;
}

// ---- Plugins (app/plugins: Status, WriteGrant, WriteRecord) ----

/** What a plugin's setpoint requests do: OFF not ticking, SHADOW recorded only, AUTO sent. */
export type PluginMode = 'off' | 'shadow' | 'auto';

/** Where a plugin is in its life; "off" is mode OFF. */
export type PluginState = 'loading' | 'running' | 'faulted' | 'off';

/** A setpoint the manifest lets the plugin write. */
export interface PluginWriteGrant {
  tag: string;
  min: number;
  max: number;
  /** Units per second; 0 = no rate limit. */
  maxRate: number;
}

/** One setpoint request of a plugin and what became of it. */
export interface PluginWriteRecord {
  time: string;
  tag: string;
  value: number;
  /** The tag's value when asked; absent when it had none. */
  current?: number | null;
  mode: PluginMode;
  /** "suppressed" (SHADOW), "pending", "done", "refused: …", "rejected: …", "timed out: …". */
  outcome: string;
}

/** A loaded plugin as the UI shows it. Durations are nanoseconds (Go time.Duration). */
export interface PluginStatus {
  id: string;
  version: string;
  manifest: string;
  sha256: string;
  state: PluginState;
  mode: PluginMode;
  lastError?: string;
  /** RFC 3339; absent unless a restart is scheduled. */
  nextRestart?: string;
  ticks: number;
  tickLast: number;
  tickAvg: number;
  tickMax: number;
  restarts: number;
  reads: string[];
  writes: PluginWriteGrant[];
  recentWrites: PluginWriteRecord[];
  logDropped: number;
  memoryBytes: number;
}

/** A manifest found in Minebrain's plugins directory. */
export interface AvailablePlugin {
  path: string;
  id: string;
  loaded: boolean;
  /** Why the manifest cannot be read, if it cannot. */
  error?: string;
}
