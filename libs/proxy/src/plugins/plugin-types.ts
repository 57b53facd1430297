import type { ProxyConfig, StreamRouteSpec } from '../config';
import type { PrereadRejection, PrereadStep } from '../engine/preread';

/** Where plugins report configuration problems and transport failures (never per connection). */
export interface PluginLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A step as plugins build it; `logOnly` marks steps whose work is all in finish() (syslog). */
export interface PluginStep extends PrereadStep {
  /**
   * A log-only step's finish() is subject to `_meta.filter` at log time. Other steps always get
   * their finish(), which must release exactly what their own run() took (limit-conn's count).
   */
  readonly logOnly?: boolean;
}

/** What a plugin sees when its conf is compiled (once per route per apply()). */
export interface PluginCompileContext {
  readonly route: StreamRouteSpec;
  readonly config: ProxyConfig;
  readonly logger: PluginLogger;
}

/**
 * One stream plugin: APISIX name and priority (spec 4) and a compiler from a validated conf to a
 * step. `compile` returns undefined when the plugin does nothing per connection (prometheus), and
 * throws when the conf cannot be used (the route then closes its connections with 500).
 */
export interface StreamPlugin {
  readonly name: string;
  readonly priority: number;
  compile(conf: Record<string, unknown>, context: PluginCompileContext): PluginStep | undefined;
}

/** Shared rejections: steps return these constants, nothing is allocated per rejected client. */
export const REJECT_403: PrereadRejection = Object.freeze({ status: 403, reason: 'forbidden' });
export const REJECT_404: PrereadRejection = Object.freeze({ status: 404, reason: 'forbidden' });
export const REJECT_500: PrereadRejection = Object.freeze({ status: 500, reason: 'plugin error' });
export const REJECT_503: PrereadRejection = Object.freeze({ status: 503, reason: 'unavailable' });

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A numeric conf field, or the schema default when it is absent or not a finite number. */
export function numberField(conf: Record<string, unknown>, name: string, fallback: number): number {
  const value = conf[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function stringField(conf: Record<string, unknown>, name: string, fallback: string): string {
  const value = conf[name];
  return typeof value === 'string' ? value : fallback;
}

/** Thrown by compile() for a conf the engine cannot use; the message is logged once. */
export class PluginConfError extends Error {
  override readonly name = 'PluginConfError';
}
