import { adminOk } from './admin-client';

/** Per-route counters of `GET /strait/v1/traffic` (zeros when the route has seen nothing yet). */
export async function routeTraffic(
  adminUrl: string,
  routeId: string,
): Promise<{
  connectionsTotal: number;
  activeConnections: number;
  bytesFromClient: number;
  bytesToClient: number;
}> {
  const answer = await adminOk(adminUrl, 'GET', '/strait/v1/traffic?seconds=1');
  const row = (answer.json.routes as { routeId: string }[]).find((r) => r.routeId === routeId) as
    | {
        connectionsTotal: number;
        activeConnections: number;
        bytesFromClient: number;
        bytesToClient: number;
      }
    | undefined;
  return row ?? { connectionsTotal: 0, activeConnections: 0, bytesFromClient: 0, bytesToClient: 0 };
}

/** `activeConnections` of `GET /strait/v1/status` (TCP connections and UDP sessions). */
export async function activeConnections(adminUrl: string): Promise<number> {
  return (await adminOk(adminUrl, 'GET', '/strait/v1/status')).json.activeConnections as number;
}

export interface LiveConnection {
  id: number;
  protocol: string;
  routeId?: string;
  remotePort: number;
  node?: string;
  phase: string;
}

/** Rows of the live connection table, optionally for one route. */
export async function liveConnections(
  adminUrl: string,
  routeId?: string,
): Promise<LiveConnection[]> {
  const query = routeId === undefined ? '' : `?route_id=${encodeURIComponent(routeId)}`;
  return (await adminOk(adminUrl, 'GET', `/strait/v1/connections${query}`)).json
    .list as LiveConnection[];
}
