import type { LinkInfo, Transport } from './transport/transport';

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
