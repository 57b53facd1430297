import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { ConnectionSummary, LiveConnection } from '@strait/proxy';
import type { AccessLogConfig } from '../config/strait-config';

const FLUSH_INTERVAL_MS = 100;
const FLUSH_BYTES = 64 * 1024;
/** Lines kept while the destination is slow; beyond this, records are dropped and counted. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * The access log: one JSON line per connection when it closes, and optionally a `progress`
 * record for connections that stay open. Lines are batched and written asynchronously, so a slow
 * disk or pipe never blocks the data path; if it stays slow, records are dropped and counted.
 */
export class AccessLog {
  private readonly stream?: WriteStream;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer?: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly config: AccessLogConfig,
    private readonly nodeId: string,
    private readonly options: { maxStdoutWriteBytes?: number } = {},
  ) {
    if (config.output === 'file') {
      mkdirSync(dirname(config.path), { recursive: true });
      this.stream = createWriteStream(config.path, { flags: 'a' });
      this.stream.on('error', () => (this.dropped += 1));
    }
  }

  get enabled(): boolean {
    return this.config.output !== 'off';
  }

  closed(summary: ConnectionSummary): void {
    this.push({
      event: 'close',
      time: new Date().toISOString(),
      connection_id: `${this.nodeId}-${summary.id}`,
      protocol: summary.protocol,
      listener: summary.listenerId,
      client: `${summary.remoteAddr}:${summary.remotePort}`,
      server: `${summary.serverAddr}:${summary.serverPort}`,
      sni: summary.sni,
      route_id: summary.routeId,
      node: summary.node,
      status: summary.status,
      reason: summary.reason,
      bytes_from_client: summary.bytesFromClient,
      bytes_to_client: summary.bytesToClient,
      duration_ms: summary.durationMs,
      connect_ms: summary.connectMs,
      attempts: summary.attempts,
    });
  }

  progress(connection: LiveConnection): void {
    this.push({
      event: 'progress',
      time: new Date().toISOString(),
      connection_id: `${this.nodeId}-${connection.id}`,
      protocol: connection.protocol,
      listener: connection.listenerId,
      client: `${connection.remoteAddr}:${connection.remotePort}`,
      server: `${connection.serverAddr}:${connection.serverPort}`,
      sni: connection.sni,
      route_id: connection.routeId,
      node: connection.node,
      bytes_from_client: connection.bytesFromClient,
      bytes_to_client: connection.bytesToClient,
      duration_ms: connection.ageMs,
    });
  }

  async close(): Promise<void> {
    this.flush();
    clearTimeout(this.flushTimer);
    if (this.stream) await new Promise<void>((resolve) => this.stream?.end(resolve));
  }

  private push(record: Record<string, unknown>): void {
    if (!this.enabled) return;
    const line = `${JSON.stringify(record)}\n`;
    const unwritten = this.stream?.writableLength ?? process.stdout.writableLength ?? 0;
    if (unwritten + this.pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.dropped += 1;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
      this.flushTimer.unref();
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.stream) this.stream.write(lines.join(''));
    else if (this.options.maxStdoutWriteBytes === undefined) process.stdout.write(lines.join(''));
    else
      for (const chunk of wholeLineChunks(lines, this.options.maxStdoutWriteBytes)) {
        process.stdout.write(chunk);
      }
  }
}

/** Joins lines into chunks of at most `limit` bytes without splitting one (a longer line stays whole). */
export function wholeLineChunks(lines: readonly string[], limit: number): string[] {
  const chunks: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const line of lines) {
    const bytes = Buffer.byteLength(line);
    if (currentBytes > 0 && currentBytes + bytes > limit) {
      chunks.push(current);
      current = '';
      currentBytes = 0;
    }
    current += line;
    currentBytes += bytes;
  }
  if (currentBytes > 0) chunks.push(current);
  return chunks;
}
