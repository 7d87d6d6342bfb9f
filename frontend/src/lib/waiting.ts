import type { Connection } from './types';

/**
 * What the page says about one OPC UA connection while the engine knows no equipment yet:
 * the server it waits for and why, in the engine's own words ("Waiting for
 * opc.tcp://mine:4840: … connection refused"), so an operator can tell a network cut from a
 * server that is still booting.
 */
export function waitingFor(c: Connection): string {
  if (c.state === 'connected') return `Connected to ${c.endpoint}, which lists no equipment under Objects/Mine.`;
  return `Waiting for ${c.endpoint}: ${c.lastError || c.state}`;
}
