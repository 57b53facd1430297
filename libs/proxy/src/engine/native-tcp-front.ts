import * as net from 'node:net';
import {
  FastpathEvent,
  loopOptionsFromEnv,
  type FastpathBinding,
  type FastpathEventHandler,
  type FastpathLoop,
} from '@strait/fastpath';
import type { BoundListener, ListenerSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { EngineRuntime } from './engine-runtime';
import { boundListener, type OpenListener } from './listeners';
import { NativeTcpSession } from './native-tcp-session';
import type { RoutePlan, UpstreamPlan } from './route-plans';
import { continueTcpSession, handleTcpConnection } from './tcp-session';

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
  /** Bind with SO_REUSEPORT, so that several processes can listen on one port. */
  reusePort: boolean;
  listenerError(listener: BoundListener, error: Error): void;
}

/**
 * Plain TCP listeners on the native fast path (libs/fastpath): one addon loop per engine, created
 * with the first such listener. The loop's events are dispatched here to NativeTcpSession objects
 * (by the addon's connection handle); connections the addon cannot carry are detached from it and
 * handed, unread, to the JavaScript path (handleTcpConnection / continueTcpSession).
 */
export class NativeTcpFront {
  private loopInstance: FastpathLoop | undefined;
  private readonly sessions = new Map<number, NativeTcpSession>();
  private readonly records = new Map<number, NativeListenerRecord>();
  /** Per route plan: whether its connections must take the JavaScript path (see needsJavaScript). */
  private readonly javaScriptPlans = new WeakMap<RoutePlan, boolean>();

  constructor(
    private readonly binding: FastpathBinding,
    readonly runtime: EngineRuntime,
    private readonly options: NativeTcpFrontOptions,
  ) {}

  get loop(): FastpathLoop {
    // Relay mode and buffer size may be tuned with STRAIT_FASTPATH=splice|copy and
    // STRAIT_FASTPATH_BUFFER (libs/fastpath/README.md).
    return (this.loopInstance ??= this.binding.createLoop(this.onEvent, loopOptionsFromEnv()));
  }

  /** Binds synchronously; throws the system error (EADDRINUSE...) for listeners.ts to report. */
  open(spec: ListenerSpec): OpenListener {
    const { listenerId, port, address } = this.loop.listenTcp(spec.host, spec.port, {
      // As the JavaScript listener: `0.0.0.0:P` and `[::]:P` can be two listeners.
      ipv6Only: net.isIPv6(spec.host),
      reusePort: this.options.reusePort,
    });
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
    let needs = this.javaScriptPlans.get(plan);
    if (needs === undefined) {
      needs =
        this.options.customConnector ||
        plan.preread.some((step) => step.readsClient === true) ||
        (plan.upstream !== undefined && this.upstreamNeedsJavaScript(plan.upstream));
      this.javaScriptPlans.set(plan, needs);
    }
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
    this.sessions.delete(session.connId);
    session.finished = true;
    const record = session.record;
    // pauseOnCreate, as net.Server's pauseOnConnect: nothing is read before the upstream is up.
    const socket = new net.Socket({
      fd,
      readable: true,
      writable: true,
      allowHalfOpen: true,
      pauseOnCreate: true,
    } as net.SocketConstructorOpts);
    socket.once('close', () => this.release(record));
    if (upstream === undefined) handleTcpConnection(this.runtime, record.bound, socket);
    else continueTcpSession(session, socket, upstream);
    return true;
  }

  /** After the engine closed and every connection ended: releases the loop and its descriptors. */
  shutdown(): void {
    this.loopInstance?.shutdown();
    this.loopInstance = undefined;
    this.sessions.clear();
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
    const session = new NativeTcpSession(this, record, connId, context);
    this.sessions.set(connId, session);
    session.start();
  }

  private readonly onEvent: FastpathEventHandler = (type, id, a, b, c, d) => {
    switch (type) {
      case FastpathEvent.Accept:
        this.accept(id, a, b as string, c as number, d);
        return;
      case FastpathEvent.Connected:
        this.sessions.get(id)?.connected(a);
        return;
      case FastpathEvent.ConnectFailed:
        this.sessions.get(id)?.attemptFailed(a);
        return;
      case FastpathEvent.Closed: {
        const session = this.sessions.get(id);
        if (session === undefined) return;
        this.sessions.delete(id);
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
  };
}
