import * as net from 'node:net';
import {
  FastpathEvent,
  loopOptionsFromEnv,
  type FastpathBinding,
  type FastpathEventHandler,
  type FastpathLoop,
  type TlsContext,
} from '@strait/fastpath';
import type { BoundListener, ListenerSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { CertificateContext } from '../tls/certificate-contexts';
import type { TlsConnectionInfo } from './connection-events';
import type { EngineRuntime } from './engine-runtime';
import type { HandshakeFront } from './handshake-front';
import { boundListener, type OpenListener } from './listeners';
import { NativeTcpSession } from './native-tcp-session';
import { NativeTlsHandshake } from './native-tls-handshake';
import type { RoutePlan, UpstreamPlan } from './route-plans';
import { continueTcpSession, handleTcpConnection } from './tcp-session';

/** Connection ids of the addon are `generation * 2^22 + slot` (libs/fastpath/README.md). */
const SLOTS = 4_194_304;

/**
 * The addon's slot of a connection id (generation × SLOTS + slot). Ids exceed 32 bits, so this is
 * float arithmetic; floor and a power-of-two division are exact, where `%` on a double is a call
 * to fmod on every event.
 */
function slotOf(connId: number): number {
  return connId - Math.floor(connId / SLOTS) * SLOTS;
}

/**
 * Batched delivery (libs/fastpath/README.md, "Events"): `onEvent(0, count)` hands over `count`
 * events of six numbers each in the buffer given to `useEventBuffer`, instead of one call per
 * event. Not in FastpathLoop's type yet, hence optional here; an addon without it delivers every
 * event by itself as before.
 */
const EVENT_BATCH = FastpathEvent.Batch;
const BATCH_FIELDS = 6;
const BATCH_EVENTS = 256;

/**
 * Dotted quads of the IPv4 addresses a batch carries as numbers, cached by address: clients come
 * back, so most accepts reuse a string instead of building one (direct-mapped, 256 entries).
 */
const ipv4Keys = new Float64Array(256).fill(-1);
const ipv4Texts: string[] = new Array<string>(256).fill('');
function ipv4Text(address: number): string {
  const slot = (address ^ (address >>> 8) ^ (address >>> 16) ^ (address >>> 24)) & 255;
  if (ipv4Keys[slot] === address) return ipv4Texts[slot];
  const text = `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
  ipv4Keys[slot] = address;
  ipv4Texts[slot] = text;
  return text;
}

/** Puts `member` at `slot`, growing the array with holes as needed. */
function placeAt<T>(array: (T | undefined)[], slot: number, member: T): void {
  while (array.length < slot) array.push(undefined);
  array[slot] = member;
}

/** A native listener and how many connections it accepted are still open, on either path. */
export interface NativeListenerRecord {
  readonly bound: BoundListener;
  readonly listenerId: number;
  open: number;
  closed: boolean;
  whenIdle: (() => void) | undefined;
}

export interface NativeTcpFrontOptions {
  /** Every connection needs the JavaScript connector (a test-injected connectUpstream). */
  customConnector: boolean;
  /** A listening socket to poll instead of binding (see CreateProxyEngineOptions). */
  sharedListenSocket?: (spec: ListenerSpec) => number | undefined;
  /** Bind with SO_REUSEPORT when there is no shared socket (see CreateProxyEngineOptions). */
  reusePort: boolean;
  listenerError(listener: BoundListener, error: Error): void;
  /** The engine's TLS front: certificate selection, counters, events, the JavaScript path. */
  handshakes: HandshakeFront;
}

/**
 * Plain TCP listeners on the native fast path (libs/fastpath): one addon loop per engine, created
 * with the first such listener. The loop's events are dispatched here to NativeTcpSession objects
 * (by the addon's connection handle); connections the addon cannot carry are detached from it and
 * handed, unread, to the JavaScript path (handleTcpConnection / continueTcpSession).
 */
export class NativeTcpFront {
  private loopInstance: FastpathLoop | undefined;
  /**
   * Sessions by the addon's slot (`connId mod 2^22`; slots are dense and reused), checked against
   * the full id. An array, not a Map: a Map that every connection passes through keeps the
   * connections it held alive through its outgrown tables until the next full GC (see
   * connection-registry.ts), which made scavenges ten times dearer under a connection storm.
   */
  private readonly sessions: (NativeTcpSession | undefined)[] = [];
  /** Connections of tls listeners before routing, by slot as `sessions`. */
  private readonly tlsHandshakes: (NativeTlsHandshake | undefined)[] = [];
  /** The addon's OpenSSL context per certificate context; null: it could not build one. */
  private readonly tlsContexts = new WeakMap<CertificateContext, TlsContext | null>();
  private readonly records = new Map<number, NativeListenerRecord>();
  /** Per route plan: whether its connections must take the JavaScript path (see needsJavaScript). */
  private readonly javaScriptPlans = new WeakMap<RoutePlan, boolean>();
  private lastPlan: RoutePlan | undefined;
  private lastPlanNeeds = false;

  constructor(
    private readonly binding: FastpathBinding,
    readonly runtime: EngineRuntime,
    private readonly options: NativeTcpFrontOptions,
  ) {}

  get handshakes(): HandshakeFront {
    return this.options.handshakes;
  }

  /** Where the addon writes batched events (see EVENT_BATCH). */
  private readonly events = new Float64Array(BATCH_FIELDS * BATCH_EVENTS);

  get loop(): FastpathLoop {
    return (this.loopInstance ??= this.createLoop());
  }

  private createLoop(): FastpathLoop {
    // Relay mode and buffer size may be tuned with STRAIT_FASTPATH=splice|copy and
    // STRAIT_FASTPATH_BUFFER (libs/fastpath/README.md).
    const loop = this.binding.createLoop(this.onEvent, loopOptionsFromEnv());
    loop.useEventBuffer(this.events);
    return loop;
  }

  /**
   * Binds synchronously; throws the system error (EADDRINUSE...) for listeners.ts to report.
   * Undefined for a tls listener the addon cannot terminate (isNativeTcpSpec rules out splice
   * relay mode; this is the addon's own word on it): the JavaScript path then binds it.
   */
  open(spec: ListenerSpec): OpenListener | undefined {
    const fd = this.options.sharedListenSocket?.(spec);
    const { listenerId, port, address } = this.loop.listenTcp(
      spec.host,
      spec.port,
      // As the JavaScript listener: `0.0.0.0:P` and `[::]:P` can be two listeners.
      fd === undefined
        ? { ipv6Only: net.isIPv6(spec.host), reusePort: this.options.reusePort }
        : { fd },
    );
    if (
      spec.tls &&
      !this.loop.terminateTls(listenerId, this.handshakes.options.handshakeTimeoutMs)
    ) {
      this.loop.closeListener(listenerId);
      return undefined;
    }
    const record: NativeListenerRecord = {
      bound: boundListener(spec, { address, port }),
      listenerId,
      open: 0,
      closed: false,
      whenIdle: undefined,
    };
    this.records.set(listenerId, record);
    let closing: Promise<void> | undefined;
    return { bound: record.bound, close: () => (closing ??= this.closeListener(record)) };
  }

  /** Stops accepting at once; resolves when the connections it accepted have ended (net.Server). */
  private closeListener(record: NativeListenerRecord): Promise<void> {
    this.loopInstance?.closeListener(record.listenerId);
    record.closed = true;
    if (record.open === 0) {
      this.records.delete(record.listenerId);
      return Promise.resolve();
    }
    return new Promise((resolve) => (record.whenIdle = resolve));
  }

  private release(record: NativeListenerRecord): void {
    if (--record.open > 0 || !record.closed) return;
    this.records.delete(record.listenerId);
    record.whenIdle?.();
  }

  /**
   * Connections of this route go to the JavaScript path: a preread step reads the client's bytes
   * (mqtt-proxy), the upstream speaks TLS, or every upstream socket must come from an injected
   * connector. Computed once per plan (plans are immutable and replaced by apply()).
   */
  needsJavaScript(plan: RoutePlan): boolean {
    // Consecutive connections mostly take the same route: the last answer spares the WeakMap.
    if (plan === this.lastPlan) return this.lastPlanNeeds;
    let needs = this.javaScriptPlans.get(plan);
    if (needs === undefined) {
      needs =
        this.options.customConnector ||
        plan.preread.some((step) => step.readsClient === true) ||
        (plan.upstream !== undefined && this.upstreamNeedsJavaScript(plan.upstream));
      this.javaScriptPlans.set(plan, needs);
    }
    this.lastPlan = plan;
    this.lastPlanNeeds = needs;
    return needs;
  }

  upstreamNeedsJavaScript(plan: UpstreamPlan): boolean {
    return this.options.customConnector || plan.upstream.scheme === 'tls';
  }

  /**
   * Detaches the client from the addon and hands it over, unread and paused, to the JavaScript
   * path: from the start (`upstream` undefined: the session was not registered, handleTcpConnection
   * routes it again), or to balance over `upstream` (continueTcpSession keeps the id, route and
   * preread state). False when the connection was closed meanwhile (its Closed event follows).
   */
  handOver(session: NativeTcpSession, upstream: UpstreamPlan | undefined): boolean {
    const fd = this.loop.detach(session.connId);
    if (fd < 0) return false;
    this.forget(session.connId);
    session.finished = true;
    const socket = this.adoptDetached(fd, session.record);
    if (upstream === undefined) handleTcpConnection(this.runtime, session.record.bound, socket);
    else continueTcpSession(session, socket, upstream);
    return true;
  }

  /** A detached client as a paused net.Socket, counted against its listener until it closes. */
  private adoptDetached(fd: number, record: NativeListenerRecord): net.Socket {
    // pauseOnCreate, as net.Server's pauseOnConnect: nothing is read before the upstream is up.
    const socket = new net.Socket({
      fd,
      readable: true,
      writable: true,
      allowHalfOpen: true,
      pauseOnCreate: true,
    } as net.SocketConstructorOpts);
    socket.once('close', () => this.release(record));
    return socket;
  }

  /** After the engine closed and every connection ended: releases the loop and its descriptors. */
  shutdown(): void {
    this.loopInstance?.shutdown();
    this.loopInstance = undefined;
    this.sessions.length = 0;
    this.tlsHandshakes.length = 0;
    this.records.clear();
  }

  private accept(
    connId: number,
    listenerId: number,
    remoteAddr: string,
    remotePort: number,
    localAddr: string | undefined,
  ): void {
    const record = this.records.get(listenerId);
    if (record === undefined || record.closed) {
      // Accepted in the same turn as the listener was closed: refused, as by a closed port.
      this.loop.destroy(connId);
      return;
    }
    record.open++;
    const listener = record.bound;
    const context: ConnectionContext = {
      protocol: 'tcp',
      remoteAddr,
      remotePort,
      // The addon reports the local address only for wildcard listeners (getsockname per accept).
      serverAddr: localAddr ?? listener.host,
      serverPort: listener.port,
      sni: this.runtime.state.fallbackSni,
    };
    if (listener.tls) {
      const handshake = new NativeTlsHandshake(this, record, connId, context);
      placeAt(this.tlsHandshakes, slotOf(connId), handshake);
      this.handshakes.pending.add(handshake);
      return;
    }
    const session = new NativeTcpSession(this, record, connId, context);
    placeAt(this.sessions, slotOf(connId), session);
    session.start();
  }

  /** The addon's OpenSSL context for `context`, built on first use; undefined if it cannot be. */
  nativeTlsContext(context: CertificateContext): TlsContext | undefined {
    let native = this.tlsContexts.get(context);
    if (native === undefined) {
      try {
        native = context.native ? this.binding.createTlsContext(context.native) : null;
      } catch {
        // Node's OpenSSL built the same object (the JavaScript path serves it); nothing to report.
        native = null;
      }
      this.tlsContexts.set(context, native);
    }
    return native ?? undefined;
  }

  /**
   * needsJavaScript for a route behind a TLS session in the addon, decided at the ClientHello:
   * also a preread step that may switch to a TLS upstream, since the session cannot move later.
   */
  needsJavaScriptBehindTls(plan: RoutePlan): boolean {
    return (
      this.needsJavaScript(plan) ||
      plan.preread.some((step) => step.upstreams?.some((upstream) => upstream.scheme === 'tls'))
    );
  }

  /** The handshake is done in the addon: the connection is routed as a NativeTcpSession. */
  startTlsSession(handshake: NativeTlsHandshake, tls: TlsConnectionInfo): void {
    const context: ConnectionContext = {
      ...handshake.context,
      sni: handshake.clientServerName ?? this.runtime.state.fallbackSni,
    };
    const session = new NativeTcpSession(this, handshake.record, handshake.connId, context, {
      tls,
    });
    const slot = slotOf(handshake.connId);
    this.tlsHandshakes[slot] = undefined;
    this.sessions[slot] = session;
    session.start();
  }

  /**
   * Detaches a client whose ClientHello the addon peeked at (still unread) and hands it to the
   * JavaScript TLS path, which starts over: hello, certificate, handshake, its own deadline.
   */
  handHandshakeOver(handshake: NativeTlsHandshake): void {
    handshake.leave();
    this.tlsHandshakes[slotOf(handshake.connId)] = undefined;
    const fd = this.loop.detach(handshake.connId);
    if (fd < 0) {
      // Closed meanwhile: its Closed event finds no handshake, so the record is released here.
      this.release(handshake.record);
      return;
    }
    const socket = this.adoptDetached(fd, handshake.record);
    this.handshakes.accept(handshake.record.bound, socket);
  }

  /** A failed handshake leaves the table; its Closed event is not awaited. */
  forgetHandshake(handshake: NativeTlsHandshake): void {
    const slot = slotOf(handshake.connId);
    if (this.tlsHandshakes[slot] !== handshake) return;
    this.tlsHandshakes[slot] = undefined;
    this.release(handshake.record);
  }

  private session(connId: number): NativeTcpSession | undefined {
    const session = this.sessions[slotOf(connId)];
    return session !== undefined && session.connId === connId ? session : undefined;
  }

  private tlsHandshake(connId: number): NativeTlsHandshake | undefined {
    const handshake = this.tlsHandshakes[slotOf(connId)];
    return handshake !== undefined && handshake.connId === connId ? handshake : undefined;
  }

  private forget(connId: number): void {
    if (this.session(connId) !== undefined) this.sessions[slotOf(connId)] = undefined;
  }

  private readonly onEvent: FastpathEventHandler = (type, id, a, b, c, d) => {
    if (type === EVENT_BATCH) this.onBatch(id);
    else this.dispatch(type, id, a, b, c, d);
  };

  /** `count` events in `this.events`: [type, id, a, b, c, d] each, numbers only. */
  private onBatch(count: number): void {
    const events = this.events;
    for (let index = 0, at = 0; index < count; index++, at += BATCH_FIELDS) {
      try {
        const type = events[at];
        if (type === FastpathEvent.Accept) {
          // a: listener, b: IPv4 address as a number, c: port, d: local IPv4 address or -1.
          const local = events[at + 5];
          this.accept(
            events[at + 1],
            events[at + 2],
            ipv4Text(events[at + 3]),
            events[at + 4],
            local < 0 ? undefined : ipv4Text(local),
          );
        } else {
          this.dispatch(
            type,
            events[at + 1],
            events[at + 2],
            events[at + 3],
            events[at + 4],
            undefined,
          );
        }
      } catch (error) {
        // As with one call per event: a throwing handler is an uncaught exception, and the other
        // events of the batch are still delivered.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }

  private dispatch(
    type: number,
    id: number,
    a: number,
    b: number | string | Buffer | undefined,
    c: number | undefined,
    d: string | undefined,
  ): void {
    switch (type) {
      case FastpathEvent.Accept:
        this.accept(id, a, b as string, c as number, d);
        return;
      case FastpathEvent.Connected:
        this.session(id)?.connected(a);
        return;
      case FastpathEvent.ConnectFailed:
        this.session(id)?.attemptFailed(a);
        return;
      case FastpathEvent.ClientHello:
        this.tlsHandshake(id)?.hello(b as Buffer);
        return;
      case FastpathEvent.TlsEstablished:
        this.tlsHandshake(id)?.established(a, b === 1);
        return;
      case FastpathEvent.TlsFailed:
        this.tlsHandshake(id)?.failed(a, b as number, d ?? '');
        return;
      case FastpathEvent.Closed: {
        const session = this.session(id);
        if (session === undefined) {
          this.tlsHandshake(id)?.closed(c as number);
          return;
        }
        this.sessions[slotOf(id)] = undefined;
        this.release(session.record);
        session.closed(a, b as number);
        return;
      }
      case FastpathEvent.ListenerError: {
        const record = this.records.get(id);
        if (record === undefined) return;
        const code = String(b);
        this.options.listenerError(
          record.bound,
          Object.assign(new Error(`accept ${code}`), { code, errno: a, syscall: 'accept' }),
        );
        return;
      }
      default:
        return;
    }
  }
}
