import { afterEach, describe, expect, it, vi } from 'vitest';
import { EngineApi } from './engine-api';
import { WailsTransport } from './wails';
import { WebSocketTransport } from './websocket';
import { FakeWebSocket } from './fake-websocket';
import { FakeTransport } from '../fake-transport';

const objects = { depth: 0, path: 'Objects', browseName: 'Objects', nodeClass: 'Object', nodeId: 'i=85' };
const mine = { depth: 1, path: 'Objects/Mine', browseName: 'Mine', nodeClass: 'Object', nodeId: 'ns=2;s=Mine' };

describe('EngineApi over Wails', () => {
  it('calls the bound methods with positional parameters', async () => {
    const TrustCertificate = vi.fn(async () => null);
    const Browse = vi.fn(async () => [objects, mine]);
    const AddNode = vi.fn(async () => null);
    const api = new EngineApi(new WailsTransport({ go: { desktop: { App: { TrustCertificate, Browse, AddNode } } } }));
    await api.trustCertificate('plc', 'AB12');
    expect(TrustCertificate).toHaveBeenCalledWith('plc', 'AB12');
    await expect(api.browse('plc', '')).resolves.toEqual([objects, mine]);
    expect(Browse).toHaveBeenCalledWith('plc', '');
    await api.addNode('plc', 'ns=2;s=X', 'Pit.SH01.X');
    expect(AddNode).toHaveBeenCalledWith('plc', 'ns=2;s=X', 'Pit.SH01.X');
  });

  it('passes the engine error on, and says so when AddNode is not there', async () => {
    const Browse = vi.fn(() => Promise.reject('opcua: not connected to opc.tcp://x:4840'));
    const api = new EngineApi(new WailsTransport({ go: { desktop: { App: { Browse } } } }));
    await expect(api.browse('plc', '')).rejects.toThrow('Browse: opcua: not connected to opc.tcp://x:4840');
    await expect(api.addNode('plc', 'i=1', 'A.B.C')).rejects.toThrow('the desktop face has no method AddNode');
  });
});

describe('EngineApi over the WebSocket', () => {
  let t: WebSocketTransport | undefined;
  afterEach(() => t?.close());

  it('sends method and params as Contract 3 frames and reads replies', async () => {
    let ws!: FakeWebSocket;
    t = new WebSocketTransport({ url: 'ws://h/ws', create: (u) => (ws = new FakeWebSocket(u)) });
    ws.open();
    const api = new EngineApi(t);
    const trust = api.trustCertificate('plc', 'AB:12');
    const browse = api.browse('plc', 'ns=2;s=Mine');
    const add = api.addNode('plc', 'ns=2;s=Mine.Pit', 'Pit.U.S');
    expect(ws.sent).toEqual([
      { id: 1, method: 'TrustCertificate', params: ['plc', 'AB:12'] },
      { id: 2, method: 'Browse', params: ['plc', 'ns=2;s=Mine'] },
      { id: 3, method: 'AddNode', params: ['plc', 'ns=2;s=Mine.Pit', 'Pit.U.S'] },
    ]);
    ws.serverSend({ id: 1, result: null });
    ws.serverSend({ id: 2, result: [mine, { junk: true }] });
    ws.serverSend({ id: 3, error: 'site.yaml:12: tag "Pit.U.S" is already used' });
    await expect(trust).resolves.toBeUndefined();
    await expect(browse).resolves.toEqual([mine]);
    await expect(add).rejects.toThrow('AddNode: site.yaml:12: tag "Pit.U.S" is already used');
  });
});

describe('EngineApi over the fake transport', () => {
  it('rejects a Browse reply that is not a list', async () => {
    const api = new EngineApi(new FakeTransport({ Browse: () => ({ nodes: [] }) }));
    await expect(api.browse('x', '')).rejects.toThrow('not a list');
  });
});
