import cluster from 'node:cluster';
import { fastpathStatus, loadFastpath, type FastpathBinding } from '@strait/fastpath';
import type {
  BoundListener,
  ListenerSpec,
  ProxyConfig,
  ProxyEngineOptions,
  StreamRouteSpec,
} from '../config';
import { createBalancerRegistry } from '../balancing';
import type { BalancerRegistry } from '../balancing/types';
import { createPluginPipeline } from '../plugins';
import {
  HealthMonitor,
  withHealthReports,
  type HealthChangedEvent,
  type UpstreamHealth,
} from '../health';
import { upstreamsOf } from '../health/config-upstreams';
import { createRouteTableCompiler } from '../routing';
import type { ConnectionContext, MatchExplanation, RouteTable } from '../routing/types';
import { CertificateContexts } from '../tls/certificate-contexts';
import { buildTlsTermination } from '../tls/tls-termination';
import type {
  ConnectionObserver,
  HandshakeStats,
  LiveConnection,
  ConnectionSample,
  ProxyEngineEvents,
} from './connection-events';
import { ConnectionRegistry, type ConnectionIdSequence } from './connection-registry';
import type { EngineRuntime } from './engine-runtime';
import { ProxyError } from './errors';
import { HandshakeFront } from './handshake-front';
import { openListeners, type ListenerHooks, type OpenListener } from './listeners';
import { NativeTcpFront } from './native-tcp-front';
import { NativeUdpFront } from './native-udp-front';
import type { PrereadPipelineFactory } from './preread';
import { buildRuntimeState, type EngineDefaults } from './route-plans';
import { handleTcpConnection } from './tcp-session';
import { trustedPeers } from './trusted-peers';
import { TypedEmitter } from './typed-emitter';
import { UdpSessionTable } from './udp-sessions';
import { connectByScheme, type UpstreamConnector } from './upstream-connector';

/** nginx stream defaults: proxy_connect_timeout 60s, proxy_timeout 10m. */
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 60;
const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;
const DEFAULT_UDP_SESSION_LIMIT = 65_536;
/**
 * PROXY header plus TLS handshake. nginx allows 60 s (ssl_handshake_timeout) and 30 s
 * (proxy_protocol_timeout); a real client needs well under a second, and every pending handshake
 * holds a socket and up to 64 KiB, so stalled ones are cut sooner.
 */
const DEFAULT_HANDSHAKE_TIMEOUT_SECONDS = 10;

export interface CreateProxyEngineOptions extends ProxyEngineOptions {
  /**
   * Ordered plugin steps per route, run between route match and upstream connect. By default the
   * stream plugins of `route.plugins` (createPluginPipeline()); tests may pass their own.
   */
  prereadPipeline?: PrereadPipelineFactory;
  /** Opens upstream sockets; the default speaks plain TCP, or TLS for scheme `tls`. */
  connectUpstream?: UpstreamConnector;
  /**
   * Route compiler; by default compileRouteTable with the parsed filters of unchanged route spec
   * objects reused across applies (createRouteTableCompiler).
   */
  compileRoutes?: (routes: StreamRouteSpec[]) => RouteTable;
  /** Balancer state holder; a fresh createBalancerRegistry() by default. */
  balancers?: BalancerRegistry;
  /**
   * Connection ids `first`, `first + stride`, ...; default 1, 2, 3. Engines in several processes
   * (data-plane workers) use one stride and distinct first ids so ids stay unique across them.
   */
  connectionIds?: ConnectionIdSequence;
  /**
   * Plain TCP listeners (no tls, no proxyProtocol) on the native fast path (libs/fastpath):
   * accept, connect, relay and close in C, every decision still here. Default: on when the addon
   * is built and loads, `STRAIT_FASTPATH` is not `off`, no `connectUpstream` is given, and this is
   * not a node:cluster worker without `sharedListenSocket` or `reusePort` (a worker's other
   * listeners are the primary's shared sockets, which only net.Server receives). `false` forces the JavaScript path;
   * `true` requires the addon (ERR_FASTPATH_UNAVAILABLE otherwise), and with a `connectUpstream`
   * every connection is handed to the JavaScript path after accept. UDP listeners with an IP
   * address use the addon's relay whenever it is on (a worker binds its UDP listeners itself).
   */
  fastpath?: boolean;
  /**
   * Native TCP listeners poll this listening socket (a file descriptor from
   * openSharedListenSocket, possibly received from another process) instead of binding their own:
   * engines in several processes (data-plane workers) then share one accept queue. The engine
   * polls a copy; the caller keeps and closes its own. Undefined for a spec: bound as usual.
   */
  sharedListenSocket?: (spec: ListenerSpec) => number | undefined;
  /**
   * Native TCP listeners without a shared socket bind with SO_REUSEPORT, so that several processes
   * (data-plane workers) can each bind the same port and the kernel spreads connections among
   * them by a hash. Each process binds for itself: give real ports (port 0 would get each process
   * its own), and every process sharing a port must set it.
   */
  reusePort?: boolean;
  /**
   * False: upstream checkers send no active probes here; their state follows the flips another
   * engine reports, given to applyHealthChange() (data-plane workers: one probes for all, as one
   * nginx worker probes for all through lua-resty-healthcheck's shared dict). Default true.
   */
  activeHealthChecks?: boolean;
}

export interface CloseOptions {
  /** Destroy open connections right away instead of letting them finish. */
  force?: boolean;
  /**
   * How long open connections may keep running after the listeners stopped; then they are
   * destroyed. Unset means wait for them (nginx's graceful quit without worker_shutdown_timeout).
   */
  drainTimeoutMs?: number;
}

/**
 * The L4 engine: listeners feed accepted connections and UDP datagrams to the session handlers,
 * which read the current route snapshot once per connection. apply() swaps that snapshot.
 */
export class ProxyEngine extends TypedEmitter<ProxyEngineEvents> {
  private readonly runtime: EngineRuntime;
  private readonly compileRoutes: (routes: StreamRouteSpec[]) => RouteTable;
  private readonly defaults: EngineDefaults;
  private readonly pipeline: PrereadPipelineFactory;
  private readonly udpSessionLimit: number;
  private readonly openListenersById = new Map<string, OpenListener>();
  /** The one object sampleConnections() fills for every connection. */
  private readonly sampledConnections: ConnectionSample = {
    id: 0,
    listenerId: '',
    protocol: 'tcp',
    routeId: undefined,
    bytesFromClient: 0,
    bytesToClient: 0,
  };
  private readonly hooks: ListenerHooks;
  private configVersion = 0;
  /** Replaced, never mutated, so a (un)subscribe during a callback does not disturb the loop. */
  private connectionObservers: readonly ConnectionObserver[] = [];
  private readonly healthMonitor: HealthMonitor;
  /** tls and proxyProtocol listeners: everything before routing. */
  private readonly front: HandshakeFront;
  private readonly certificateContexts: CertificateContexts;
  /** Plain TCP listeners on the native fast path; undefined when it is off. */
  private readonly native: NativeTcpFront | undefined;
  /** UDP listeners on the native relay; undefined when the fast path is off. */
  private readonly nativeUdp: NativeUdpFront | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: CreateProxyEngineOptions = {}) {
    super();
    this.healthMonitor = new HealthMonitor({ probing: options.activeHealthChecks ?? true });
    this.compileRoutes = options.compileRoutes ?? createRouteTableCompiler();
    this.pipeline = options.prereadPipeline ?? createPluginPipeline();
    this.udpSessionLimit = Math.max(1, options.udpSessionLimit ?? DEFAULT_UDP_SESSION_LIMIT);
    this.defaults = {
      connectTimeoutMs: (options.defaultConnectTimeout ?? DEFAULT_CONNECT_TIMEOUT_SECONDS) * 1000,
      idleTimeoutMs: (options.defaultIdleTimeout ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    };
    const empty: ProxyConfig = { routes: [], certificates: [] };
    this.runtime = {
      state: buildRuntimeState(empty, this.compileRoutes([]), this.defaults, this.pipeline, 0)
        .state,
      balancers: withHealthReports(
        options.balancers ?? createBalancerRegistry(),
        this.healthMonitor,
      ),
      registry: new ConnectionRegistry(options.connectionIds),
      connectUpstream: options.connectUpstream ?? connectByScheme,
      // Observers read the connection itself; event payloads are only built when someone listens.
      connectionOpened: (connection) => {
        for (const observer of this.connectionObservers) {
          try {
            observer.opened(connection);
          } catch (error) {
            rethrowOutside(error);
          }
        }
        if (this.listenerCount('connection:opened') > 0) {
          this.emitSafely('connection:opened', connection.info());
        }
      },
      connectionClosed: (connection) => {
        for (const observer of this.connectionObservers) {
          try {
            observer.closed(connection);
          } catch (error) {
            rethrowOutside(error);
          }
        }
        if (this.listenerCount('connection:closed') > 0) {
          this.emitSafely('connection:closed', connection.summary());
        }
      },
    };
    this.healthMonitor.on('health:changed', (event) => this.emitSafely('health:changed', event));
    this.certificateContexts = new CertificateContexts({
      ciphers: options.tlsCiphers,
      sessionTicketSecret: options.sessionTicketSecret,
    });
    this.front = new HandshakeFront(this.runtime, {
      handshakeTimeoutMs:
        Math.max(0.001, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_SECONDS) * 1000,
      wantsErrorEvents: () => this.listenerCount('handshake:error') > 0,
      onError: (event) => this.emitSafely('handshake:error', event),
      believesProxyHeaderFrom: trustedPeers(options.realIpFrom),
    });
    const binding = this.fastpathBinding(options);
    this.native = binding && this.createNativeTcpFront(binding, options);
    this.nativeUdp = binding && new NativeUdpFront(binding, this.runtime, this.udpSessionLimit);
    this.hooks = {
      openNativeTcp: this.native ? (spec) => this.native!.open(spec) : undefined,
      openNativeUdp: this.nativeUdp
        ? (spec) => (this.nativeUdp!.canOpen(spec) ? this.nativeUdp!.open(spec) : undefined)
        : undefined,
      acceptTcp: (listener, socket) =>
        listener.tls || listener.proxyProtocol
          ? this.front.accept(listener, socket)
          : handleTcpConnection(this.runtime, listener, socket),
      adoptUdp: (listener, socket) =>
        new UdpSessionTable(socket, listener, this.runtime, this.udpSessionLimit),
      listenerError: (listener, error) =>
        this.emit('listener:error', { listenerId: listener.id, error }),
    };
  }

  /** Whether plain TCP listeners use the native fast path (see CreateProxyEngineOptions). */
  get fastpath(): boolean {
    return this.native !== undefined;
  }

  /** The addon, unless the fast path is off (see CreateProxyEngineOptions.fastpath). */
  private fastpathBinding(options: CreateProxyEngineOptions): FastpathBinding | undefined {
    if (options.fastpath === false) return undefined;
    const binding = loadFastpath();
    if (binding === undefined && options.fastpath === true) {
      throw new ProxyError(
        'ERR_FASTPATH_UNAVAILABLE',
        `the native fast path is not available: ${fastpathStatus().reason}`,
      );
    }
    return binding;
  }

  private createNativeTcpFront(
    binding: FastpathBinding,
    options: CreateProxyEngineOptions,
  ): NativeTcpFront | undefined {
    if (options.fastpath === undefined) {
      if (options.connectUpstream !== undefined) return undefined;
      const shares = options.sharedListenSocket !== undefined || options.reusePort === true;
      if (cluster.isWorker && !shares) return undefined;
    }
    return new NativeTcpFront(binding, this.runtime, {
      customConnector: options.connectUpstream !== undefined,
      sharedListenSocket: options.sharedListenSocket,
      reusePort: options.reusePort === true,
      listenerError: (listener, error) =>
        this.emit('listener:error', { listenerId: listener.id, error }),
      handshakes: this.front,
    });
  }

  /**
   * Opens every listener (all or none, ERR_BIND) and reports the bound addresses; port 0 gets an
   * ephemeral port. Can be called again later to add listeners at run time.
   */
  async listen(specs: readonly ListenerSpec[]): Promise<BoundListener[]> {
    this.assertRunning();
    const opened = await openListeners(specs, this.hooks);
    if (this.closing) {
      await Promise.all(opened.map((listener) => listener.close()));
      throw new ProxyError('ERR_ENGINE_CLOSED', 'the proxy engine was closed while listening');
    }
    for (const listener of opened) this.openListenersById.set(listener.bound.id, listener);
    return opened.map((listener) => listener.bound);
  }

  listeners(): BoundListener[] {
    return [...this.openListenersById.values()].map((listener) => listener.bound);
  }

  /** Stops one listener; resolves when the connections it accepted have ended. */
  async closeListener(id: string): Promise<boolean> {
    const listener = this.openListenersById.get(id);
    if (!listener) return false;
    this.openListenersById.delete(id);
    await listener.close();
    return true;
  }

  /**
   * Swaps the route snapshot synchronously: the next connection sees the new routes, open ones
   * keep the route and node they have (spec 3.2). Throws, leaving the old snapshot in place, when
   * the routes cannot be compiled.
   *
   * Certificates take effect for the next TLS handshake; established TLS connections keep the
   * certificate they were made with. An SSL object whose certificate or key cannot be loaded does
   * not fail apply(): it is reported as `certificate:error`, and handshakes that select it fail
   * (ERR_TLS_CERTIFICATE_INVALID) rather than fall back to another certificate.
   */
  apply(config: ProxyConfig): void {
    this.assertRunning();
    const table = this.compileRoutes(config.routes);
    const { state, upstreamKeys } = buildRuntimeState(
      config,
      table,
      this.defaults,
      this.pipeline,
      ++this.configVersion,
      this.runtime.state,
    );
    const termination = buildTlsTermination(config.certificates, this.certificateContexts);
    this.runtime.state = state;
    this.front.termination = termination;
    for (const problem of termination.problems()) this.emitSafely('certificate:error', problem);
    this.runtime.balancers.retain(upstreamKeys);
    this.healthMonitor.apply(upstreamsOf(config));
  }

  /** The route a connection with this context would take, with the reason every other route lost. */
  explainMatch(context: ConnectionContext): MatchExplanation {
    return this.runtime.state.table.explain(context);
  }

  /**
   * Health-check state of every upstream with `checks`, by upstream key (or of one key; undefined
   * when no checker runs for it). Changes are also emitted as `health:changed`.
   */
  health(): UpstreamHealth[];
  health(upstreamKey: string): UpstreamHealth | undefined;
  health(upstreamKey?: string): UpstreamHealth[] | UpstreamHealth | undefined {
    return upstreamKey === undefined
      ? this.healthMonitor.snapshot()
      : this.healthMonitor.upstream(upstreamKey);
  }

  /** Handshake counters of tls and proxyProtocol listeners (completed, resumed, failed by code). */
  handshakeStats(): HandshakeStats {
    const stats = this.front.stats;
    return {
      completed: stats.completed,
      resumed: stats.resumed,
      failed: { ...stats.failed },
      pending: this.front.pending.size,
    };
  }

  /**
   * Takes over a node flip that another engine's checker of the same upstream reported (its
   * `health:changed` event) without emitting one. See `activeHealthChecks`.
   */
  applyHealthChange(event: HealthChangedEvent): void {
    this.healthMonitor.applyShared(event);
  }

  /**
   * Calls `observer` for every connection that opens or closes from now on, synchronously and
   * before the `connection:opened`/`connection:closed` events, with the connection itself rather
   * than an event object: the way for counters to see every connection without an allocation per
   * connection. Returns the unsubscribe function.
   */
  observeConnections(observer: ConnectionObserver): () => void {
    this.connectionObservers = [...this.connectionObservers, observer];
    return () => {
      this.connectionObservers = this.connectionObservers.filter((entry) => entry !== observer);
    };
  }

  /** Live TCP connections and UDP sessions, oldest first. */
  connections(): LiveConnection[] {
    return this.runtime.registry.list();
  }

  /**
   * Every live connection's listener, route and byte counts, oldest first, without building a row
   * for each: `visit` gets one reused object (see ConnectionSample). For samplers that run every
   * second or every scrape whatever the number of connections; connections() builds whole rows.
   */
  sampleConnections(visit: (sample: Readonly<ConnectionSample>) => void): void {
    const row = this.sampledConnections;
    this.runtime.registry.forEach((connection) => {
      connection.readSample(row);
      visit(row);
    });
  }

  get connectionCount(): number {
    return this.runtime.registry.size;
  }

  closeConnection(id: number): boolean {
    return this.runtime.registry.abort(id);
  }

  /** Closes every connection relaying to `host:port` (`[v6]:port`); returns how many. */
  closeConnectionsToNode(hostPort: string): number {
    return this.runtime.registry.abortByNode(hostPort);
  }

  /**
   * Stops accepting at once, then lets open connections finish (up to `drainTimeoutMs`) or, with
   * `force`, destroys them. Resolves when every socket is closed. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: CloseOptions): Promise<void> {
    this.healthMonitor.close();
    const registry = this.runtime.registry;
    const listeners = [...this.openListenersById.values()];
    this.openListenersById.clear();
    const listenersClosed = Promise.all(listeners.map((listener) => listener.close()));
    if (options.force) {
      this.front.abortAll();
      registry.abortAll();
    } else if (options.drainTimeoutMs !== undefined) {
      const drained = await settlesWithin(registry.whenEmpty(), options.drainTimeoutMs);
      if (!drained) {
        this.front.abortAll();
        registry.abortAll();
      }
    }
    await listenersClosed;
    await registry.whenEmpty();
    this.native?.shutdown();
    this.nativeUdp?.shutdown();
    // Every log phase has run: plugins flush what they buffered (syslog) and release sockets.
    await this.pipeline.close?.();
  }

  /**
   * Listeners run inside socket handlers: a throwing subscriber must not leave a session
   * half-registered, so its exception is rethrown on the next tick, outside the engine's
   * bookkeeping (where it surfaces as an uncaught exception, like any listener bug).
   */
  private emitSafely<K extends keyof ProxyEngineEvents & string>(
    event: K,
    payload: ProxyEngineEvents[K],
  ): void {
    try {
      this.emit(event, payload);
    } catch (error) {
      rethrowOutside(error);
    }
  }

  private assertRunning(): void {
    if (this.closing) throw new ProxyError('ERR_ENGINE_CLOSED', 'the proxy engine is closed');
  }
}

export function createProxyEngine(options?: CreateProxyEngineOptions): ProxyEngine {
  return new ProxyEngine(options);
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * A subscriber's exception, rethrown on the next tick: outside the engine's bookkeeping, which goes
 * on (an inline try/catch at each call site, so the connection path allocates no closure).
 */
function rethrowOutside(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}
