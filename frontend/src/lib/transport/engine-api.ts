import type { Transport } from './transport';
import type { BrowseNode, HistoryReply, HistoryRequest } from '../types';

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
