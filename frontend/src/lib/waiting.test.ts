import { describe, expect, it } from 'vitest';
import { waitingFor } from './waiting';
import type { Connection } from './types';

const conn = (state: Connection['state'], lastError = ''): Connection => ({
  name: 'opcua',
  endpoint: 'opc.tcp://mine:4840',
  state,
  lastError,
  lastDataAt: 0,
  items: 0,
  rate: 0,
});

describe('waitingFor', () => {
  it('names the endpoint and the last error', () => {
    expect(waitingFor(conn('connecting', 'connection refused'))).toBe('Waiting for opc.tcp://mine:4840: connection refused');
  });

  it('names the state before the first error', () => {
    expect(waitingFor(conn('connecting'))).toBe('Waiting for opc.tcp://mine:4840: connecting');
  });

  it('does not claim to wait for a server that answered with no equipment', () => {
    expect(waitingFor(conn('connected'))).toMatch(/^Connected to opc.tcp:\/\/mine:4840, which lists no equipment/);
  });
});
