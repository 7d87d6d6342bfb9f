import type { Transport } from './transport';
import type {
  AckResult,
  AlarmHistoryQuery,
  AlarmSummary,
  AreaKPI,
  AuditEntry,
  AuditQuery,
  AuditReport,
  AvailablePlugin,
  BrowseNode,
  CommandRequest,
  CommandResult,
  ControlPanelView,
  HistoryReply,
  HistoryRequest,
  JournalEntry,
  PluginMode,
  PluginStatus,
  Role,
  Selection,
  UserView,
} from '../types';

// The engine's connection-management methods, typed, over whichever Transport the page uses
// (Wails bindings or the WebSocket RPC: both take the same method names and positional
// parameters). Errors come back as rejected promises with the engine's message.

export class EngineApi {
  constructor(private readonly transport: Transport) {}

  /** Trusts and pins the server certificate with that thumbprint; the connection retries at once. */
  async trustCertificate(connection: string, thumbprint: string): Promise<void> {
    await this.transport.call<null>('TrustCertificate', connection, thumbprint);
  }

  /** One level of a connection's address space under `node` ("" = Objects): the node, then its children. */
  async browse(connection: string, node: string): Promise<BrowseNode[]> {
    const r = await this.transport.call<unknown>('Browse', connection, node);
    if (r === null) return [];
    if (!Array.isArray(r)) throw new Error('Browse: the reply is not a list of nodes');
    return r.filter(isBrowseNode);
  }

  /**
   * The trend of up to 8 tags over [from, to) (ms) in `buckets` buckets: per tag either
   * aggregate buckets or, when the range holds few samples, the raw samples.
   */
  async history(req: HistoryRequest): Promise<HistoryReply> {
    const r = await this.transport.call<unknown>('History', req);
    if (!isHistoryReply(r)) throw new Error('History: the reply is not a trend');
    return r;
  }

  /** Adds an explicit node to the connection in the site file, under tag Area.Unit.Signal. */
  async addNode(connection: string, nodeId: string, tag: string): Promise<void> {
    await this.transport.call<null>('AddNode', connection, nodeId, tag);
  }

  // ---- Alarms ----

  async alarms(): Promise<AlarmSummary> {
    const r = await this.transport.call<unknown>('Alarms');
    if (!isAlarmSummary(r)) throw new Error('Alarms: the reply is not an alarm summary');
    return r;
  }

  async acknowledgeAlarms(ids: string[]): Promise<AckResult> {
    const r = await this.transport.call<AckResult | null>('AcknowledgeAlarms', ids);
    return { acknowledged: r?.acknowledged ?? 0, errors: r?.errors ?? [] };
  }

  /** minutes 0 = one-shot: until the alarm next returns to normal. */
  async shelveAlarm(id: string, reason: string, minutes: number): Promise<void> {
    await this.transport.call<null>('ShelveAlarm', id, reason, minutes);
  }

  async unshelveAlarm(id: string): Promise<void> {
    await this.transport.call<null>('UnshelveAlarm', id);
  }

  async resetAlarm(id: string): Promise<void> {
    await this.transport.call<null>('ResetAlarm', id);
  }

  async removeAlarmFromService(id: string, reason: string): Promise<void> {
    await this.transport.call<null>('RemoveAlarmFromService', id, reason);
  }

  async returnAlarmToService(id: string, reason: string): Promise<void> {
    await this.transport.call<null>('ReturnAlarmToService', id, reason);
  }

  async alarmHistory(q: AlarmHistoryQuery): Promise<JournalEntry[]> {
    return list<JournalEntry>(await this.transport.call<unknown>('AlarmHistory', q), 'AlarmHistory');
  }

  async alarmKPIs(): Promise<AreaKPI[]> {
    return list<AreaKPI>(await this.transport.call<unknown>('AlarmKPIs'), 'AlarmKPIs');
  }

  // ---- Control (select before operate) ----

  async controlPanel(unit: string): Promise<ControlPanelView> {
    const r = await this.transport.call<any>('ControlPanel', unit);
    if (!r || typeof r !== 'object') throw new Error('ControlPanel: the reply is not a control panel');
    return { unit, mode: 'unknown', runState: null, ...r, commands: r.commands ?? [], setpoints: r.setpoints ?? [] };
  }

  async selectCommand(req: CommandRequest): Promise<Selection> {
    const r = await this.transport.call<Selection>('SelectCommand', req);
    if (!r || typeof r.id !== 'string') throw new Error('SelectCommand: the reply is not a selection');
    return r;
  }

  /** Executes a selection; `reason`, typed in the confirmation dialog, goes into the audit entry. */
  async operateCommand(id: string, reason: string): Promise<CommandResult> {
    const r = await this.transport.call<CommandResult>('OperateCommand', id, reason);
    if (!r || typeof r.outcome !== 'string') throw new Error('OperateCommand: the reply is not a result');
    return r;
  }

  async cancelCommand(id: string): Promise<void> {
    await this.transport.call<null>('CancelCommand', id);
  }

  // ---- Audit and users ----

  async audit(q: AuditQuery): Promise<AuditEntry[]> {
    return list<AuditEntry>(await this.transport.call<unknown>('Audit', q), 'Audit');
  }

  async verifyAudit(): Promise<AuditReport> {
    const r = await this.transport.call<AuditReport>('VerifyAudit');
    return { ok: !!r?.ok, entries: r?.entries ?? 0, problems: r?.problems ?? [] };
  }

  async users(): Promise<UserView[]> {
    return list<UserView>(await this.transport.call<unknown>('Users'), 'Users');
  }

  async addUser(name: string, role: Role, password: string): Promise<void> {
    await this.transport.call<null>('AddUser', name, role, password);
  }

  async setUserRole(name: string, role: Role): Promise<void> {
    await this.transport.call<null>('SetUserRole', name, role);
  }

  async setUserPassword(name: string, password: string): Promise<void> {
    await this.transport.call<null>('SetUserPassword', name, password);
  }

  async setUserDisabled(name: string, disabled: boolean): Promise<void> {
    await this.transport.call<null>('SetUserDisabled', name, disabled);
  }

  async changeOwnPassword(oldPassword: string, newPassword: string): Promise<void> {
    await this.transport.call<null>('ChangeOwnPassword', oldPassword, newPassword);
  }

  // ---- Plugins (load, reload, remove and mode need the engineer role) ----

  /** Every loaded plugin. */
  async plugins(): Promise<PluginStatus[]> {
    return list<unknown>(await this.transport.call<unknown>('Plugins'), 'Plugins').map(normalizePlugin);
  }

  /** The manifests in Minebrain's plugins directory, loaded or not. */
  async availablePlugins(): Promise<AvailablePlugin[]> {
    return list<AvailablePlugin>(await this.transport.call<unknown>('AvailablePlugins'), 'AvailablePlugins');
  }

  /** Loads the plugin whose manifest is at `path`; it starts in SHADOW. */
  async loadPlugin(path: string): Promise<PluginStatus> {
    const r = await this.transport.call<unknown>('LoadPlugin', path);
    if (!r || typeof r !== 'object') throw new Error('LoadPlugin: the reply is not a plugin status');
    return normalizePlugin(r);
  }

  async reloadPlugin(id: string): Promise<void> {
    await this.transport.call<null>('ReloadPlugin', id);
  }

  async removePlugin(id: string): Promise<void> {
    await this.transport.call<null>('RemovePlugin', id);
  }

  async setPluginMode(id: string, mode: PluginMode): Promise<void> {
    await this.transport.call<null>('SetPluginMode', id, mode);
  }
}

function list<T>(r: unknown, method: string): T[] {
  if (r === null || r === undefined) return [];
  if (!Array.isArray(r)) throw new Error(`${method}: the reply is not a list`);
  return r as T[];
}

export function isAlarmSummary(x: any): x is AlarmSummary {
  return x !== null && typeof x === 'object' && typeof x.counts === 'object' && x.counts !== null;
}

/** Fills what an engine may leave out (null lists) so screens need not check. */
export function normalizeSummary(s: AlarmSummary): AlarmSummary {
  const c: any = s.counts ?? {};
  return {
    counts: {
      critical: c.critical ?? 0,
      high: c.high ?? 0,
      medium: c.medium ?? 0,
      low: c.low ?? 0,
      unacknowledged: c.unacknowledged ?? 0,
      total: c.total ?? 0,
    },
    newest: s.newest ?? null,
    active: s.active ?? [],
    hidden: s.hidden ?? [],
    floods: s.floods ?? [],
  };
}

/** Fills what the engine may leave out (nil slices come as null) so screens need not check. */
export function normalizePlugin(x: any): PluginStatus {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    ...x,
    id: String(x?.id ?? ''),
    version: String(x?.version ?? ''),
    manifest: String(x?.manifest ?? ''),
    sha256: String(x?.sha256 ?? ''),
    state: x?.state ?? 'loading',
    mode: x?.mode ?? 'off',
    ticks: num(x?.ticks),
    tickLast: num(x?.tickLast),
    tickAvg: num(x?.tickAvg),
    tickMax: num(x?.tickMax),
    restarts: num(x?.restarts),
    logDropped: num(x?.logDropped),
    memoryBytes: num(x?.memoryBytes),
    reads: Array.isArray(x?.reads) ? x.reads : [],
    writes: Array.isArray(x?.writes) ? x.writes : [],
    recentWrites: Array.isArray(x?.recentWrites) ? x.recentWrites : [],
  };
}

function isBrowseNode(x: any): x is BrowseNode {
  return x !== null && typeof x === 'object' && typeof x.nodeId === 'string' && typeof x.depth === 'number';
}

function isHistoryReply(x: any): x is HistoryReply {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof x.from === 'number' &&
    typeof x.to === 'number' &&
    Array.isArray(x.series) &&
    x.series.every((s: any) => s && typeof s.tag === 'string' && Array.isArray(s.buckets ?? []))
  );
}
