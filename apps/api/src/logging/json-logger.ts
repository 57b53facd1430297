import type { LoggerService } from '@nestjs/common';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type JsonLogLevel = keyof typeof LEVELS;
const BOOT_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Structured logs: one JSON object per line on stdout, with a level and the Nest context. Messages
 * may be objects (preferred: `{ msg, ...fields }`). Nothing here knows about secrets, so callers
 * never pass keys, tokens or PEM text.
 */
export class JsonLogger implements LoggerService {
  private readonly threshold: number;

  constructor(level: JsonLogLevel = 'info') {
    this.threshold = LEVELS[level];
  }

  log(message: unknown, context?: string): void {
    // Nest's start-up inventory (every module and route) is detail, not news.
    this.write(context !== undefined && BOOT_CHATTER.has(context) ? 'debug' : 'info', message, context);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, lastString(rest));
  }

  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }

  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  verbose(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  private write(level: JsonLogLevel, message: unknown, context: string | undefined): void {
    if (LEVELS[level] < this.threshold) return;
    const fields =
      typeof message === 'object' && message !== null ? (message as Record<string, unknown>) : { msg: String(message) };
    const line = JSON.stringify({ time: new Date().toISOString(), level, context, ...fields });
    process.stdout.write(`${line}\n`);
  }
}

function lastString(values: unknown[]): string | undefined {
  const last = values[values.length - 1];
  return typeof last === 'string' ? last : undefined;
}
