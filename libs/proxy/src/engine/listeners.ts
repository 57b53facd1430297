import { loopOptionsFromEnv } from '@strait/fastpath';
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { BoundListener, ListenerSpec } from '../config';
import { formatHostPort, listenerId } from './addresses';
import { describeSystemError, ProxyError } from './errors';

/** What a bound listener hands its traffic to; the engine implements it. */
export interface ListenerHooks {
  /** A TCP client was accepted (paused, see tcp-session.ts and handshake-front.ts). */
  acceptTcp(listener: BoundListener, socket: net.Socket): void;
  /** A UDP socket is bound; the returned table takes its datagrams and closes it when drained. */
  adoptUdp(listener: BoundListener, socket: dgram.Socket): { close(): Promise<void> };
  listenerError(listener: BoundListener, error: Error): void;
  /**
   * Binds a TCP listener without proxyProtocol on the native fast path (native-tcp-front.ts),
   * synchronously; undefined when that path is off or declines the spec. Throws the bind error,
   * which is reported as ERR_BIND like any other.
   */
  openNativeTcp?(spec: ListenerSpec): OpenListener | undefined;
  /**
   * Binds a UDP listener on the native relay (native-udp-front.ts), synchronously; undefined when
   * that path is off or cannot take this spec (a host name). Throws the bind error.
   */
  openNativeUdp?(spec: ListenerSpec): OpenListener | undefined;
}

export interface OpenListener {
  readonly bound: BoundListener;
  /**
   * Stops accepting new connections (UDP: new sessions). Resolves once the listening socket is
   * closed, which for both kinds waits for the connections it accepted to end.
   */
  close(): Promise<void>;
}

/**
 * Binds every spec, or none: when one fails, the ones already bound are closed again and the
 * error names the address and the OS reason (`cannot listen on tcp 127.0.0.1:9100: address
 * already in use`, code ERR_BIND).
 */
export async function openListeners(
  specs: readonly ListenerSpec[],
  hooks: ListenerHooks,
): Promise<OpenListener[]> {
  const results = await Promise.allSettled(specs.map((spec) => openListener(spec, hooks)));
  const opened: OpenListener[] = [];
  let failure: unknown;
  for (const result of results) {
    if (result.status === 'fulfilled') opened.push(result.value);
    else failure ??= result.reason;
  }
  if (failure === undefined) return opened;
  await Promise.all(opened.map((listener) => listener.close()));
  throw failure;
}

/**
 * Whether `spec` is served by the native fast path when the addon is on: TCP without
 * proxyProtocol, plain or tls (native-tcp-front.ts). The addon terminates TLS in copy relay mode
 * only (its records are encrypted in user space), so with STRAIT_FASTPATH=splice tls listeners
 * stay on the JavaScript path.
 */
export function isNativeTcpSpec(spec: ListenerSpec): boolean {
  if (spec.protocol !== 'tcp' || spec.proxyProtocol) return false;
  return !spec.tls || loopOptionsFromEnv().relay !== 'splice';
}

export function openListener(spec: ListenerSpec, hooks: ListenerHooks): Promise<OpenListener> {
  if (spec.protocol === 'udp' && (spec.tls || spec.proxyProtocol)) {
    // TCP listeners with tls/proxyProtocol are bound like any other and their connections go
    // through the handshake front (handshake-front.ts). UDP has neither in APISIX (no DTLS; the
    // PROXY header is per stream), so such a spec is refused loudly rather than served plain.
    const feature = spec.tls ? 'tls' : 'proxy_protocol';
    return Promise.reject(
      new ProxyError(
        'ERR_UNSUPPORTED_LISTENER',
        `cannot listen on ${spec.protocol} ${formatHostPort(spec.host, spec.port)}: ${feature} is not available for UDP listeners`,
      ),
    );
  }
  const native =
    spec.protocol === 'udp'
      ? hooks.openNativeUdp
      : isNativeTcpSpec(spec)
        ? hooks.openNativeTcp
        : undefined;
  if (native) {
    try {
      const opened = native(spec);
      if (opened) return Promise.resolve(opened);
    } catch (error) {
      return Promise.reject(bindError(spec, error));
    }
  }
  return spec.protocol === 'udp' ? openUdpListener(spec, hooks) : openTcpListener(spec, hooks);
}

export function bindError(spec: ListenerSpec, cause: unknown): ProxyError {
  // The spec travels with the error so the caller can name where it was configured.
  return Object.assign(
    new ProxyError(
      'ERR_BIND',
      `cannot listen on ${spec.protocol} ${formatHostPort(spec.host, spec.port)}: ${describeSystemError(cause)}`,
      { cause },
    ),
    { listener: spec },
  );
}

export function boundListener(
  spec: ListenerSpec,
  address: { address: string; port: number },
): BoundListener {
  // The OS's spelling of the address (`::` for `0::0`) keeps listener ids canonical.
  return {
    ...spec,
    host: address.address,
    port: address.port,
    id: listenerId(spec.protocol, address.address, address.port),
  };
}

function openTcpListener(spec: ListenerSpec, hooks: ListenerHooks): Promise<OpenListener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({
      // Relay half-closes instead of letting Node end our side when the client's FIN arrives.
      allowHalfOpen: true,
      // Do not read before the upstream is connected: early bytes wait in the kernel buffer.
      pauseOnConnect: true,
      noDelay: true,
    });
    const onBindError = (error: Error): void => {
      server.close();
      reject(bindError(spec, error));
    };
    server.once('error', onBindError);
    // ipv6Only lets `0.0.0.0:P` and `[::]:P` be two listeners, as nginx's `ipv6only=on` default.
    server.listen({ host: spec.host, port: spec.port, ipv6Only: net.isIPv6(spec.host) }, () => {
      server.off('error', onBindError);
      const bound = boundListener(spec, server.address() as net.AddressInfo);
      // After bind, errors are accept failures (EMFILE, ENFILE): reported, never fatal.
      server.on('error', (error) => hooks.listenerError(bound, error));
      server.on('connection', (socket: net.Socket) => hooks.acceptTcp(bound, socket));
      let closing: Promise<void> | undefined;
      resolve({
        bound,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            // net.Server's close callback fires once every accepted connection has ended.
            server.close(() => done());
          })),
      });
    });
  });
}

/**
 * dgram resolves the address of every send() (and of bind()) through `lookup`; Node's default,
 * dns.lookup, answers an IP literal one process.nextTick later, with a closure, per datagram. Every
 * reply a UDP listener sends goes to a client address as recvmsg reported it, an IP literal, so
 * it is answered at once here; names still go to dns.lookup.
 */
function literalFirstLookup(
  address: string,
  // dgram passes the family number (4 or 6); @types/node declares the options object.
  family: dns.LookupOneOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const literal = net.isIP(address);
  if (literal !== 0) callback(null, address, literal);
  else dns.lookup(address, family, callback);
}

function openUdpListener(spec: ListenerSpec, hooks: ListenerHooks): Promise<OpenListener> {
  return new Promise((resolve, reject) => {
    const v6 = net.isIPv6(spec.host);
    const socket = dgram.createSocket({
      type: v6 ? 'udp6' : 'udp4',
      ipv6Only: v6,
      lookup: literalFirstLookup,
    });
    const onBindError = (error: Error): void => {
      try {
        socket.close();
      } catch {
        // never bound, nothing to close
      }
      reject(bindError(spec, error));
    };
    socket.once('error', onBindError);
    socket.bind({ address: spec.host, port: spec.port }, () => {
      socket.off('error', onBindError);
      const bound = boundListener(spec, socket.address());
      // After bind, errors come from sends back to clients (ENOBUFS, EAGAIN): reported only.
      socket.on('error', (error) => hooks.listenerError(bound, error));
      const table = hooks.adoptUdp(bound, socket);
      resolve({ bound, close: () => table.close() });
    });
  });
}
