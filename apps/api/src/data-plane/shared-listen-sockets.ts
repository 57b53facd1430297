import { openSharedListenSocket } from '@strait/proxy';
import type { Worker } from 'node:cluster';
import * as net from 'node:net';
import type { ListenerEntry } from '../config/strait-config';
import { withConfigKey } from '../proxy-runtime/engine-host';

/** How a listening socket is named between the API process and its workers. */
export function sharedSocketKey(entry: { host: string; port: number }): string {
  return net.isIPv6(entry.host) ? `[${entry.host}]:${entry.port}` : `${entry.host}:${entry.port}`;
}

/**
 * The listening sockets of the workers' native-path TCP listeners, opened once in the API process
 * and sent to every worker, a restarted one too (worker-main.ts hands them to its engine). All
 * workers wait on one accept queue: whichever is free accepts, so a stuck worker takes no
 * connections and a light load is not spread over busy cores (nginx workers share their sockets
 * the same way). The sockets stay open here, unpolled, until the pool stops.
 */
export class SharedListenSockets {
  private constructor(private readonly sockets: ReadonlyMap<string, net.Socket>) {}

  /** Opens them all or none; a bind error is ERR_BIND named by the entry's config key. */
  static open(listeners: readonly ListenerEntry[]): SharedListenSockets {
    const sockets = new Map<string, net.Socket>();
    try {
      for (const entry of listeners) {
        const fd = openSharedListenSocket(entry);
        if (fd === undefined) continue;
        // Wrapped so that it can be sent over the cluster channel; never read here.
        sockets.set(
          sharedSocketKey(entry),
          new net.Socket({ fd, readable: false, writable: false }),
        );
      }
    } catch (error) {
      for (const socket of sockets.values()) socket.destroy();
      throw withConfigKey(error, listeners);
    }
    return new SharedListenSockets(sockets);
  }

  /** Sends every socket to a worker, before anything else it is sent (messages keep their order). */
  sendTo(worker: Worker): void {
    for (const [key, socket] of this.sockets) {
      worker.send({ type: 'listen-socket', key }, socket, { keepOpen: true });
    }
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.destroy();
  }
}
