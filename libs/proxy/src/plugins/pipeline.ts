import type { ProxyConfig, StreamRouteSpec } from '../config';
import type { PrereadPipelineFactory, PrereadSession } from '../engine/preread';
import type { ConnectionSummary } from '../engine/connection-events';
import { compileExpr, type ExprPredicate } from './expr';
import { ipRestrictionPlugin } from './ip-restriction';
import { ConnectionCounters, createLimitConnPlugin } from './limit-conn';
import { createMqttProxyPlugin } from './mqtt-proxy';
import {
  isPlainObject,
  REJECT_500,
  type PluginCompileContext,
  type PluginLogger,
  type PluginStep,
  type StreamPlugin,
} from './plugin-types';
import { prometheusPlugin } from './prometheus';
import { createSyslogPlugin, SyslogSinks } from './syslog';
import type { SyslogSinkStats } from './syslog-sink';
import { RetainedState } from './retained-state';
import { createTrafficSplitPlugin } from './traffic-split';

export interface PluginPipelineOptions {
  /** Configuration problems (once each) and syslog transport state; console by default. */
  logger?: PluginLogger;
  /** How long mqtt-proxy waits for the CONNECT packet (nginx preread_timeout); 30 s. */
  mqttPeekTimeoutMs?: number;
  /** The most bytes mqtt-proxy buffers to reach the client id; 64 KiB. */
  mqttMaxPeekBytes?: number;
  /** How long close() waits for syslog batches still being sent; 2 s. */
  closeGraceMs?: number;
}

export interface PluginPipelineStats {
  limitConn: {
    /** Connections counted right now, all routes and keys. */
    connections: number;
    /** Per full key `/apisix/stream_routes/<id>:<conf version>:<key>`. */
    keys: Record<string, number>;
  };
  syslog: SyslogSinkStats[];
}

/** The default `prereadPipeline` of the engine: stream plugins from `route.plugins`. */
export interface PluginPipeline extends PrereadPipelineFactory {
  stats(): PluginPipelineStats;
  close(): Promise<void>;
}

const consoleLogger: PluginLogger = {
  warn: (message, fields) => console.warn(`[strait plugins] ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`[strait plugins] ${message}`, fields ?? ''),
};

/** Keeps the log from repeating the same configuration complaint at every apply(). */
function onceLogger(target: PluginLogger): PluginLogger {
  const seen = new Set<string>();
  const once =
    (level: keyof PluginLogger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const key = `${level}\u0000${message}\u0000${JSON.stringify(fields ?? {})}`;
      if (seen.has(key)) return;
      if (seen.size >= 1024) seen.clear();
      seen.add(key);
      target[level](message, fields);
    };
  return { warn: once('warn'), error: once('error') };
}

/** A route whose plugin cannot run: its connections are closed (500) rather than let through. */
function failingStep(name: string): PluginStep {
  return { name, run: () => REJECT_500 };
}

/** `_meta.filter`: the plugin runs only for connections whose variables match. */
function withFilter(step: PluginStep, filter: ExprPredicate): PluginStep {
  const finish = step.finish;
  return {
    name: step.name,
    upstreams: step.upstreams,
    logOnly: step.logOnly,
    readsClient: step.readsClient,
    run: (session) => (filter(session, undefined) ? step.run(session) : undefined),
    finish:
      finish === undefined
        ? undefined
        : step.logOnly
          ? (session: PrereadSession, summary: ConnectionSummary) => {
              if (filter(session, summary)) finish.call(step, session, summary);
            }
          : // Releases what its own run() took; a filtered-out run took nothing.
            (session: PrereadSession, summary: ConnectionSummary) =>
              finish.call(step, session, summary),
  };
}

interface OrderedStep {
  step: PluginStep;
  priority: number;
  index: number;
}

/**
 * Creates the stream plugin pipeline (spec 4): for each route, at apply() time, one step per
 * enabled plugin in `route.plugins`, ordered by priority (descending; `_meta.priority`
 * overrides), skipping confs with `_meta.disable: true`. State that must outlive apply() lives
 * here: limit-conn counters and syslog senders. Unknown plugins, and confs the engine cannot
 * compile, close the route's connections with 500 and are logged once.
 */
export function createPluginPipeline(options: PluginPipelineOptions = {}): PluginPipeline {
  const logger = onceLogger(options.logger ?? consoleLogger);
  const counters = new ConnectionCounters();
  const sinks = new SyslogSinks(options.logger ?? consoleLogger);
  const splitPositions = new RetainedState<Float64Array>();
  let namespaces = new Set<string>();
  let previousNamespaces = new Set<string>();
  let generation = 0;
  const seenConfigs = new WeakSet<ProxyConfig>();

  const plugins = new Map<string, StreamPlugin>(
    [
      ipRestrictionPlugin,
      createLimitConnPlugin(counters, (namespace) => namespaces.add(namespace)),
      createMqttProxyPlugin({
        timeoutMs: options.mqttPeekTimeoutMs ?? 30_000,
        maxBytes: options.mqttMaxPeekBytes ?? 64 * 1024,
      }),
      createTrafficSplitPlugin(splitPositions),
      prometheusPlugin,
      createSyslogPlugin(sinks, () => generation),
    ].map((plugin) => [plugin.name, plugin]),
  );

  /**
   * apply() compiles every route with the same config object: a config not seen before starts a
   * generation, and what the last complete generation did not use is released.
   */
  function enterGeneration(config: ProxyConfig): void {
    if (seenConfigs.has(config)) return;
    seenConfigs.add(config);
    sinks.retireOlderThan(generation);
    splitPositions.nextGeneration();
    counters.retainNamespaces(new Set([...previousNamespaces, ...namespaces]));
    previousNamespaces = namespaces;
    namespaces = new Set();
    generation++;
  }

  function compileOne(
    name: string,
    rawConf: unknown,
    context: PluginCompileContext,
  ): OrderedStep | undefined {
    const conf = isPlainObject(rawConf) ? rawConf : {};
    const meta = isPlainObject(conf._meta) ? conf._meta : undefined;
    if (meta?.disable === true) return undefined;
    const plugin = plugins.get(name);
    const priority =
      typeof meta?.priority === 'number' ? meta.priority : (plugin?.priority ?? Infinity);
    if (plugin === undefined) {
      logger.error('unknown stream plugin: connections of the route are closed', {
        route: context.route.id,
        plugin: name,
      });
      return { step: failingStep(name), priority, index: 0 };
    }
    try {
      let step = plugin.compile(conf, context);
      if (step === undefined) return undefined;
      if (meta?.filter !== undefined) step = withFilter(step, compileExpr(meta.filter));
      return { step, priority, index: 0 };
    } catch (error) {
      logger.error('stream plugin conf not usable: connections of the route are closed', {
        route: context.route.id,
        plugin: name,
        error: error instanceof Error ? error.message : String(error),
      });
      return { step: failingStep(name), priority, index: 0 };
    }
  }

  const pipeline = (route: StreamRouteSpec, config: ProxyConfig): PluginStep[] => {
    enterGeneration(config);
    const confs = route.plugins;
    if (confs === undefined) return [];
    const context: PluginCompileContext = { route, config, logger };
    const ordered: OrderedStep[] = [];
    for (const name of Object.keys(confs)) {
      const compiled = compileOne(name, confs[name], context);
      if (compiled === undefined) continue;
      compiled.index = ordered.length;
      ordered.push(compiled);
    }
    ordered.sort((left, right) => right.priority - left.priority || left.index - right.index);
    return ordered.map((entry) => entry.step);
  };

  return Object.assign(pipeline, {
    stats: (): PluginPipelineStats => ({
      limitConn: { connections: counters.total, keys: counters.snapshot() },
      syslog: sinks.stats(),
    }),
    close: () => sinks.close(options.closeGraceMs ?? 2000),
  });
}
