import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventBus } from '../events/event-bus';
import { ExpiryTimer } from './expiry-timer';
import { RESOURCE_KINDS } from './resource-kind';
import { SerialQueue } from './serial-queue';
import { StoreSession } from './store-session';

/** After a failed expiry sweep, the next try. */
const EXPIRY_RETRY_MS = 1000;

/**
 * The one way into persisted admin objects. Writes run in a transaction and are acknowledged only
 * after the commit (SQLite in WAL mode with synchronous=FULL, so an acknowledged write survives a
 * crash); their change events are published on the bus right after the commit, before the caller
 * answers the HTTP request, so a route is in force when its PUT returns (with data-plane workers,
 * once every worker acknowledged applying it).
 */
@Injectable()
export class ResourceStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResourceStore.name);
  private readonly queue = new SerialQueue();
  private readonly expiry = new ExpiryTimer(() => void this.sweepExpired());

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    // Removes what expired while the service was down, then waits for the next expiry.
    void this.sweepExpired();
  }

  onModuleDestroy(): void {
    this.expiry.stop();
  }

  read<T>(work: (session: StoreSession) => Promise<T>): Promise<T> {
    return this.queue.run(() => work(new StoreSession(this.dataSource.manager, Date.now)));
  }

  async write<T>(work: (session: StoreSession) => Promise<T>): Promise<T> {
    let applied: Promise<void>[] | undefined;
    const result = await this.queue.run(async () => {
      let session!: StoreSession;
      const committed = await this.dataSource.transaction(async (manager) => {
        session = new StoreSession(manager, Date.now);
        return work(session);
      });
      for (const change of session.changes) {
        const pending = this.bus.emit(change.name, change.event);
        if (pending) (applied ??= []).push(pending);
      }
      if (session.earliestExpiryWritten !== undefined) {
        this.expiry.expireBy(session.earliestExpiryWritten);
      }
      return committed;
    });
    // Data-plane workers apply the change in their own processes: the write is answered once they
    // acknowledged it (bounded by the worker pool). Awaited outside the queue, so the next write
    // can commit meanwhile; the IPC channel keeps the changes in order.
    if (applied) await Promise.all(applied);
    return result;
  }

  /**
   * Deletes the expired objects (publishing the deletions as any write does) and sets the timer
   * for the next expiry in the store. Objects written later set it through write().
   */
  private async sweepExpired(): Promise<void> {
    try {
      const next = await this.write(async (session) => {
        let earliest: number | undefined;
        for (const kind of RESOURCE_KINDS) {
          await session.removeExpired(kind);
          const at = await session.nextExpiry(kind);
          if (at !== undefined && at < (earliest ?? Infinity)) earliest = at;
        }
        return earliest;
      });
      if (next !== undefined) this.expiry.expireBy(next);
    } catch (error) {
      this.logger.error({ msg: 'expiry sweep failed', error: String(error) });
      this.expiry.expireBy(Date.now() + EXPIRY_RETRY_MS);
    }
  }

  /** Waits for queued work to finish; used on shutdown before the database closes. */
  drain(): Promise<void> {
    return this.queue.run(() => Promise.resolve());
  }
}
