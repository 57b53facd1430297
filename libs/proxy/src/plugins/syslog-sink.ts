import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { PluginLogger } from './plugin-types';

/** Transport and batching settings of one syslog destination (syslog conf, defaults filled). */
export interface SyslogSinkSettings {
  host: string;
  port: number;
  sockType: 'tcp' | 'udp';
  tls: boolean;
  /** Connect and write timeout, milliseconds. */
  timeoutMs: number;
  /** TCP: the most bytes written in one write() (several entries are grouped up to it). */
  flushLimit: number;
  /** TCP: entries are dropped while this many bytes are already waiting in the socket. */
  dropLimit: number;
  batchMaxSize: number;
  /** Seconds without a new entry after which the batch is sent. */
  inactiveTimeout: number;
  /** Seconds after the oldest entry of a batch at which it is sent anyway. */
  bufferDuration: number;
  maxRetryCount: number;
  /** Seconds between retries of a failed batch. */
  retryDelay: number;
  /** Entries held in total (batch being filled + batches being sent or retried). */
  maxPendingEntries: number;
}

export interface SyslogSinkStats {
  target: string;
  /** Entries handed to the socket successfully. */
  sent: number;
  /** Entries given up: queue full, drop_limit, retries exhausted, UDP send errors, shutdown. */
  dropped: number;
  /** Batches whose send failed (each retry counts). */
  failedBatches: number;
  /** Entries currently held. */
  pending: number;
}

interface Batch {
  entries: string[];
  retries: number;
}

/**
 * A batch processor (apisix/utils/batch-processor.lua) in front of one syslog receiver. push()
 * only appends to memory and never waits: batches are sent one at a time in the background over
 * one UDP socket (one datagram per entry) or one TCP/TLS connection (newline framed, reopened on
 * demand). Everything is bounded: entries beyond `maxPendingEntries`, bytes beyond `dropLimit`
 * and batches out of retries are dropped and counted, and the receiver being down costs nothing
 * but a counter.
 */
export class SyslogSink {
  private buffer: string[] = [];
  private firstEntryAt = 0;
  private lastEntryAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Batch[] = [];
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pendingCount = 0;
  private tcp: net.Socket | undefined;
  private tcpReady: Promise<net.Socket> | undefined;
  private udp: Promise<dgram.Socket> | undefined;
  private closed = false;
  /** close() started: failed batches are not retried any more. */
  private closing = false;
  private failing = false;
  /** UDP: ICMP refusals seen before the sends they answer were counted (see udpSocket). */
  private unmatchedRefusals = 0;
  /** Set when no current config uses this sink: its socket closes whenever it is idle. */
  private retired = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: SyslogSinkStats;

  constructor(
    private readonly settings: SyslogSinkSettings,
    private readonly logger: PluginLogger,
  ) {
    this.stats = {
      target: `${settings.sockType}://${net.isIPv6(settings.host) ? `[${settings.host}]` : settings.host}:${settings.port}`,
      sent: 0,
      dropped: 0,
      failedBatches: 0,
      pending: 0,
    };
  }

  push(entry: string): void {
    if (this.closed || this.pendingCount >= this.settings.maxPendingEntries) {
      this.stats.dropped++;
      return;
    }
    const now = Date.now();
    if (this.buffer.length === 0) this.firstEntryAt = now;
    this.lastEntryAt = now;
    this.buffer.push(entry);
    this.pendingCount++;
    this.stats.pending = this.pendingCount;
    if (this.buffer.length >= this.settings.batchMaxSize) this.flushBuffer();
    else if (this.timer === undefined) this.armTimer(this.settings.inactiveTimeout * 1000);
  }

  /** No config uses this sink any more; entries still pushed by old connections are sent. */
  retire(): void {
    this.retired = true;
    this.flushBuffer();
    this.closeIfIdle();
  }

  /** Sends what is held (bounded by `graceMs`), then releases the sockets and timers. */
  async close(graceMs: number): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.flushBuffer();
    if (this.retryTimer !== undefined) {
      // A batch waiting for its retry gets one last attempt now.
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      void this.sendNext();
    }
    if (this.sending || this.queue.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.timer = undefined;
    this.retryTimer = undefined;
    for (const batch of this.queue.splice(0)) this.drop(batch.entries.length);
    this.drop(this.buffer.length);
    this.buffer = [];
    this.closeSockets();
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => this.onTimer(), Math.max(1, ms));
    this.timer.unref();
  }

  /** batch-processor's flush_buffer: send after inactive_timeout of quiet or buffer_duration. */
  private onTimer(): void {
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const now = Date.now();
    const quietFor = now - this.lastEntryAt;
    const age = now - this.firstEntryAt;
    const inactiveMs = this.settings.inactiveTimeout * 1000;
    const durationMs = this.settings.bufferDuration * 1000;
    if (quietFor >= inactiveMs || age >= durationMs) return this.flushBuffer();
    this.armTimer(Math.min(inactiveMs - quietFor, durationMs - age));
  }

  private flushBuffer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return;
    this.queue.push({ entries: this.buffer, retries: 0 });
    this.buffer = [];
    if (!this.sending && this.retryTimer === undefined) void this.sendNext();
  }

  private async sendNext(): Promise<void> {
    const batch = this.queue[0];
    if (batch === undefined || this.sending) {
      if (!this.sending) this.becameIdle();
      return;
    }
    this.sending = true;
    let failure: unknown;
    let delivered = 0;
    try {
      delivered = await this.deliver(batch.entries);
    } catch (error) {
      failure = error;
    }
    this.sending = false;
    if (this.closed) return;
    if (failure === undefined) {
      this.queue.shift();
      const refused = Math.min(this.unmatchedRefusals, delivered);
      this.unmatchedRefusals -= refused;
      this.stats.sent += delivered - refused;
      this.drop(batch.entries.length - delivered + refused, delivered - refused);
      if (this.failing) {
        this.failing = false;
        this.logger.warn('syslog: receiver reachable again', { target: this.stats.target });
      }
      return this.sendNext();
    }
    this.stats.failedBatches++;
    if (!this.failing) {
      this.failing = true;
      this.logger.error('syslog: failed to send a batch', {
        target: this.stats.target,
        error: String(failure),
      });
    }
    if (batch.retries < this.settings.maxRetryCount && !this.closing) {
      batch.retries++;
      this.retryTimer = setTimeout(
        () => {
          this.retryTimer = undefined;
          void this.sendNext();
        },
        Math.max(1, this.settings.retryDelay * 1000),
      );
      this.retryTimer.unref();
      return;
    }
    this.queue.shift();
    this.drop(batch.entries.length);
    return this.sendNext();
  }

  /** Forgets `count` entries as dropped (and `delivered` more as handled). */
  private drop(count: number, delivered = 0): void {
    this.stats.dropped += count;
    this.pendingCount -= count + delivered;
    this.stats.pending = this.pendingCount;
  }

  private becameIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.closeIfIdle();
  }

  private closeIfIdle(): void {
    if (this.retired && !this.sending && this.queue.length === 0 && this.buffer.length === 0) {
      this.closeSockets();
    }
  }

  /** Sends the entries; resolves with how many were accepted, rejects when the batch failed. */
  private deliver(entries: string[]): Promise<number> {
    return this.settings.sockType === 'udp' ? this.deliverUdp(entries) : this.deliverTcp(entries);
  }

  /**
   * One datagram per entry (RFC 5426); a send error drops that entry only. The socket is
   * connected, so the ICMP port unreachable of a receiver that is down comes back as an
   * ECONNREFUSED error and the loss is counted rather than silent (one per ICMP the kernel
   * reports: exact on loopback, a lower bound where ICMP is rate-limited or filtered).
   */
  private async deliverUdp(entries: string[]): Promise<number> {
    const socket = await this.udpSocket();
    return new Promise((resolve) => {
      let outstanding = entries.length;
      let delivered = 0;
      const done = (error: Error | null): void => {
        if (!error) delivered++;
        if (--outstanding === 0) resolve(delivered);
      };
      for (const entry of entries) {
        try {
          socket.send(entry, done);
        } catch (error) {
          done(error as Error);
        }
      }
    });
  }

  private udpSocket(): Promise<dgram.Socket> {
    if (this.udp) return this.udp;
    const ready = new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(this.settings.host) ? 'udp6' : 'udp4');
      socket.on('error', (error: NodeJS.ErrnoException) => {
        // An ICMP port unreachable reports a datagram already counted as sent as lost.
        // It may arrive before the send's own completion: then it is matched when that lands.
        if (error.code !== 'ECONNREFUSED') return;
        if (this.stats.sent > 0) {
          this.stats.sent--;
          this.stats.dropped++;
        } else {
          this.unmatchedRefusals++;
        }
      });
      socket.unref();
      const failed = (error: Error): void => {
        // connect() failed (name resolution): try again with the next batch.
        if (this.udp === ready) this.udp = undefined;
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(error);
      };
      socket.once('error', failed);
      socket.connect(this.settings.port, this.settings.host, () => {
        socket.removeListener('error', failed);
        resolve(socket);
      });
    });
    this.udp = ready;
    return ready;
  }

  /** Newline-framed lines (RFC 6587 non-transparent framing), in writes of up to flush_limit. */
  private async deliverTcp(entries: string[]): Promise<number> {
    const socket = await this.tcpSocket();
    let delivered = 0;
    let chunk = '';
    let chunkEntries = 0;
    const writes: Promise<void>[] = [];
    const flush = (): void => {
      if (chunkEntries === 0) return;
      if (socket.writableLength + Buffer.byteLength(chunk) > this.settings.dropLimit) {
        // drop_limit: the receiver is not keeping up; these entries are given up.
      } else {
        writes.push(this.write(socket, chunk));
        delivered += chunkEntries;
      }
      chunk = '';
      chunkEntries = 0;
    };
    for (const entry of entries) {
      const line = `${entry}\n`;
      if (chunkEntries > 0 && chunk.length + line.length > this.settings.flushLimit) flush();
      chunk += line;
      chunkEntries++;
    }
    flush();
    await Promise.all(writes);
    return delivered;
  }

  private write(socket: net.Socket, text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`syslog write timed out after ${this.settings.timeoutMs} ms`));
      }, this.settings.timeoutMs);
      timer.unref();
      socket.write(text, (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  private tcpSocket(): Promise<net.Socket> {
    if (this.tcp && !this.tcp.destroyed) return Promise.resolve(this.tcp);
    this.tcpReady ??= new Promise<net.Socket>((resolve, reject) => {
      const { host, port, timeoutMs } = this.settings;
      const socket = this.settings.tls
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
        : net.connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`syslog connect timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref();
      const fail = (error: Error): void => {
        clearTimeout(timer);
        this.tcpReady = undefined;
        reject(error);
      };
      socket.once('error', fail);
      socket.once(this.settings.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', fail);
        socket.on('error', () => undefined);
        socket.once('close', () => {
          if (this.tcp === socket) this.tcp = undefined;
        });
        // The receiver sends nothing; whatever it does send is discarded, its FIN closes us.
        socket.on('data', () => undefined);
        socket.on('end', () => socket.destroy());
        socket.unref();
        this.tcp = socket;
        this.tcpReady = undefined;
        resolve(socket);
      });
    });
    return this.tcpReady;
  }

  private closeSockets(): void {
    this.tcp?.destroy();
    this.tcp = undefined;
    const udp = this.udp;
    this.udp = undefined;
    udp?.then(
      (socket) => {
        try {
          socket.close();
        } catch {
          // already closed
        }
      },
      () => undefined,
    );
  }
}
