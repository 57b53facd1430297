import type { ConnectionSample, ConnectionTally } from '@strait/proxy';

/** Upper bounds (seconds) of the upstream connect-time histogram buckets. */
export const CONNECT_SECONDS_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
const HISTORY_SECONDS = 300;
const NO_ROUTE = '';

export interface RouteCounters {
  connectionsTotal: number;
  active: number;
  bytesFromClient: number;
  bytesToClient: number;
  statusTotals: Map<number, number>;
  connectBuckets: number[];
  connectCount: number;
  connectSumSeconds: number;
}

interface CountedBytes {
  fromClient: number;
  toClient: number;
  routeId: string;
}

export interface TrafficSample {
  /** Epoch seconds. */
  time: number;
  connections: number;
  bytesFromClient: number;
  bytesToClient: number;
}

/**
 * Per-route traffic (the engine reports the route when it opens a connection), fed by its events and a once-a-second look at the live
 * table (bytes of long-lived connections count when they flow, not only when they close). Keeps
 * totals for Prometheus and five minutes of per-second samples for the dashboard's charts.
 * Work per connection is a few counter updates; nothing here runs per chunk.
 */
export class TrafficStats {
  private readonly routes = new Map<string, RouteCounters>();
  private readonly history = new Map<string, TrafficSample[]>();
  /**
   * Bytes of each open connection already counted, so each byte is counted once. Only connections
   * that were open at a tick have an entry (made by that tick): a short connection never enters
   * the Map, since a Map every connection passes through keeps the ones it held alive until the
   * next full GC (see libs/proxy/src/engine/connection-registry.ts).
   */
  private readonly counted = new Map<number, CountedBytes>();
  private readonly pending = new Map<string, TrafficSample>();
  /**
   * Whether `opened` was seen for an id: the engine hands out increasing ids and reports every
   * connection opened before anything else about it, so the ids seen form one range.
   */
  private lastRouteId: string | undefined;
  private lastCounters: RouteCounters | undefined;
  private firstOpenedId = Number.POSITIVE_INFINITY;
  private lastOpenedId = 0;

  opened(connection: ConnectionTally): void {
    const routeId = connection.routeId ?? NO_ROUTE;
    const counters = this.countersFor(routeId);
    counters.connectionsTotal += 1;
    counters.active += 1;
    this.sampleFor(routeId).connections += 1;
    if (connection.id < this.firstOpenedId) this.firstOpenedId = connection.id;
    if (connection.id > this.lastOpenedId) this.lastOpenedId = connection.id;
  }

  closed(connection: ConnectionTally): void {
    const previous = this.counted.get(connection.id);
    const routeId = connection.routeId ?? previous?.routeId ?? NO_ROUTE;
    const counters = this.countersFor(routeId);
    if (previous !== undefined || this.wasOpened(connection.id)) {
      counters.active = Math.max(0, counters.active - 1);
    }
    if (previous === undefined) {
      this.addBytes(routeId, connection.bytesFromClient, connection.bytesToClient);
    } else {
      this.addBytes(
        routeId,
        connection.bytesFromClient - previous.fromClient,
        connection.bytesToClient - previous.toClient,
      );
      this.counted.delete(connection.id);
    }
    const statusTotals = counters.statusTotals;
    statusTotals.set(connection.status, (statusTotals.get(connection.status) ?? 0) + 1);
    if (connection.connectMs !== undefined) {
      const seconds = connection.connectMs / 1000;
      counters.connectCount += 1;
      counters.connectSumSeconds += seconds;
      for (let bucket = 0; bucket < CONNECT_SECONDS_BUCKETS.length; bucket++) {
        if (seconds <= CONNECT_SECONDS_BUCKETS[bucket]) {
          counters.connectBuckets[bucket] += 1;
          break;
        }
      }
    }
  }

  /**
   * Counts the bytes that moved on an open connection since it was last counted. Called once a
   * second for every open connection (engine.sampleConnections), then closeSecond(). Keeps nothing of
   * `connection`, which the engine reuses for the next one.
   */
  readonly countLive = (connection: Readonly<ConnectionSample>): void => {
    let previous = this.counted.get(connection.id);
    if (previous === undefined) {
      if (!this.wasOpened(connection.id)) return;
      previous = { fromClient: 0, toClient: 0, routeId: connection.routeId ?? NO_ROUTE };
      this.counted.set(connection.id, previous);
    }
    this.addBytes(
      previous.routeId,
      connection.bytesFromClient - previous.fromClient,
      connection.bytesToClient - previous.toClient,
    );
    previous.fromClient = connection.bytesFromClient;
    previous.toClient = connection.bytesToClient;
  };

  /** Ends the current second: its sample joins each route's history. */
  closeSecond(nowSeconds: number): void {
    for (const [routeId, sample] of this.pending) {
      const series = this.history.get(routeId) ?? [];
      series.push({ ...sample, time: nowSeconds });
      if (series.length > HISTORY_SECONDS) series.splice(0, series.length - HISTORY_SECONDS);
      this.history.set(routeId, series);
    }
    this.pending.clear();
  }

  routeCounters(): ReadonlyMap<string, RouteCounters> {
    return this.routes;
  }

  /** Per-second samples of the last `seconds` seconds, per route (seconds without traffic omitted). */
  series(seconds: number, nowSeconds: number): Map<string, TrafficSample[]> {
    const since = nowSeconds - seconds;
    const result = new Map<string, TrafficSample[]>();
    for (const [routeId, samples] of this.history) {
      const recent = samples.filter((sample) => sample.time > since);
      if (recent.length > 0) result.set(routeId, recent);
    }
    return result;
  }

  /** Whether `opened` was seen for this connection. */
  private wasOpened(id: number): boolean {
    return id >= this.firstOpenedId && id <= this.lastOpenedId;
  }

  private addBytes(routeId: string, fromClient: number, toClient: number): void {
    if (fromClient === 0 && toClient === 0) return;
    const counters = this.countersFor(routeId);
    counters.bytesFromClient += fromClient;
    counters.bytesToClient += toClient;
    const sample = this.sampleFor(routeId);
    sample.bytesFromClient += fromClient;
    sample.bytesToClient += toClient;
  }

  private countersFor(routeId: string): RouteCounters {
    // Consecutive connections mostly share a route: the last lookup spares the Map.
    if (routeId === this.lastRouteId && this.lastCounters !== undefined) return this.lastCounters;
    let counters = this.routes.get(routeId);
    if (!counters) {
      counters = {
        connectionsTotal: 0,
        active: 0,
        bytesFromClient: 0,
        bytesToClient: 0,
        statusTotals: new Map(),
        connectBuckets: CONNECT_SECONDS_BUCKETS.map(() => 0),
        connectCount: 0,
        connectSumSeconds: 0,
      };
      this.routes.set(routeId, counters);
    }
    this.lastRouteId = routeId;
    this.lastCounters = counters;
    return counters;
  }

  private sampleFor(routeId: string): TrafficSample {
    let sample = this.pending.get(routeId);
    if (!sample) {
      sample = { time: 0, connections: 0, bytesFromClient: 0, bytesToClient: 0 };
      this.pending.set(routeId, sample);
    }
    return sample;
  }
}
