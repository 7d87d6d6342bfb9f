import type { LinkInfo, Transport } from './transport/transport';
import type { BrowseNode } from './types';

// An in-memory Transport for tests: answers calls from a table, emits events on demand.
export class FakeTransport implements Transport {
  readonly calls: { method: string; params: unknown[] }[] = [];
  private readonly handlers = new Map<string, Set<(d: any) => void>>();
  private readonly linkHandlers = new Set<(i: LinkInfo) => void>();

  constructor(public answers: Record<string, (...params: unknown[]) => unknown>) {}

  call<T>(method: string, ...params: unknown[]): Promise<T> {
    this.calls.push({ method, params });
    const f = this.answers[method];
    if (!f) return Promise.reject(new Error(`${method}: not answered`));
    try {
      return Promise.resolve(f(...params) as T);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  on(event: string, handler: (data: any) => void): () => void {
    let s = this.handlers.get(event);
    if (!s) this.handlers.set(event, (s = new Set()));
    s.add(handler);
    return () => s.delete(handler);
  }

  onConnection(handler: (info: LinkInfo) => void): () => void {
    this.linkHandlers.add(handler);
    return () => this.linkHandlers.delete(handler);
  }

  emit(event: string, data: unknown): void {
    for (const h of this.handlers.get(event) ?? []) h(data);
  }

  link(info: LinkInfo): void {
    for (const h of this.linkHandlers) h(info);
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }
}

/** A node of a fake OPC UA address space, for Browse answers in tests. */
export interface FakeNode {
  id: string;
  name: string;
  nodeClass?: string;
  dataType?: string;
  value?: unknown;
  status?: string;
  children?: FakeNode[];
}

/**
 * A Browse answer over a fake address space: the node ("" = the root, Objects) at depth 0,
 * then its children at depth 1; an unknown node id throws like the engine does.
 */
export function browseAnswer(root: FakeNode): (connection: unknown, node: unknown) => BrowseNode[] {
  const find = (n: FakeNode, id: string, path: string): [FakeNode, string] | null => {
    if (n.id === id) return [n, path];
    for (const c of n.children ?? []) {
      const r = find(c, id, `${path}/${c.name}`);
      if (r) return r;
    }
    return null;
  };
  const row = (n: FakeNode, depth: number, path: string): BrowseNode => ({
    depth,
    path,
    browseName: n.name,
    nodeClass: n.nodeClass ?? (n.children ? 'Object' : 'Variable'),
    nodeId: n.id,
    ...(n.dataType !== undefined ? { dataType: n.dataType } : {}),
    ...(n.value !== undefined ? { value: n.value, status: n.status ?? 'Good' } : {}),
  });
  return (_connection, node) => {
    const hit = find(root, node === '' ? root.id : String(node), root.name);
    if (!hit) throw new Error(`Browse: opcua: browse ${String(node)}: BadNodeIdUnknown`);
    const [n] = hit;
    return [row(n, 0, n.name), ...(n.children ?? []).map((c) => row(c, 1, `${n.name}/${c.name}`))];
  };
}
