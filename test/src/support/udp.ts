import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface UdpBackend {
  readonly port: number;
  readonly socket: Socket;
  /** Source `addr:port` of every datagram received, in order. */
  readonly peers: string[];
  close(): Promise<void>;
}

/**
 * A UDP backend like the DNS server of scenario 48: answers every datagram with `replies`
 * datagrams `tag:<i>:<payload>`, so a client can tell the node and count the replies.
 */
export async function startUdpBackend(
  tag: string,
  replies = 1,
  host = '127.0.0.1',
): Promise<UdpBackend> {
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  const peers: string[] = [];
  socket.on('message', (message, remote) => {
    peers.push(`${remote.address}:${remote.port}`);
    for (let index = 0; index < replies; index += 1) {
      socket.send(`${tag}:${index}:${message.toString()}`, remote.port, remote.address);
    }
  });
  await new Promise<void>((resolve) => socket.bind({ address: host, port: 0 }, resolve));
  return {
    port: socket.address().port,
    socket,
    peers,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export interface UdpClient {
  readonly socket: Socket;
  readonly port: number;
  readonly received: string[];
  send(port: number, text: string, host?: string): void;
  /** Resolves once `count` datagrams in total have arrived; rejects at the deadline. */
  waitForCount(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** A UDP client bound to `host` (its source address) that records every datagram received. */
export async function startUdpClient(host = '127.0.0.1'): Promise<UdpClient> {
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  const received: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (message) => {
    received.push(message.toString());
    for (const waiter of waiters) waiter();
  });
  await new Promise<void>((resolve) => socket.bind({ address: host, port: 0 }, resolve));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (port, text, to = host) => socket.send(text, port, to),
    waitForCount: (count, timeoutMs = 3000) =>
      new Promise<string[]>((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(received.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${count} datagrams not received within ${timeoutMs} ms: ${JSON.stringify(received)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
