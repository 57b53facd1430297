/** Real syslog receivers on loopback for the syslog specs. Not exported from the package. */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { LOOPBACK } from '../../engine/testing/loopback';

export interface SyslogReceiver {
  readonly port: number;
  /** Messages so far: one per datagram (UDP) or per line (TCP). */
  readonly messages: string[];
  /** TCP: how many data events carried them (batched writes arrive together). */
  readonly reads: number;
  close(): Promise<void>;
}

export async function startUdpReceiver(port = 0): Promise<SyslogReceiver> {
  const socket = dgram.createSocket('udp4');
  const messages: string[] = [];
  socket.on('message', (message) => messages.push(message.toString()));
  await new Promise<void>((resolve) => socket.bind({ address: LOOPBACK, port }, resolve));
  return {
    port: socket.address().port,
    messages,
    reads: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export async function startTcpReceiver(port = 0): Promise<SyslogReceiver> {
  const messages: string[] = [];
  const sockets: net.Socket[] = [];
  let reads = 0;
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      reads++;
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        messages.push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port }, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    messages,
    get reads() {
      return reads;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const LINE = /^<46>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) apisix (\d+) - - (\{.*\})$/;

/** Parses an RFC 5424 line as Strait (and APISIX) sends it; throws when it is not one. */
export function parseSyslogLine(line: string): Record<string, unknown> {
  const match = LINE.exec(line);
  if (!match) throw new Error(`not an RFC 5424 line: ${line}`);
  return JSON.parse(match[4]) as Record<string, unknown>;
}
