import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventBus } from '../events/event-bus';
import { RESOURCE_KINDS } from './resource-kind';
import { SerialQueue } from './serial-queue';
import { StoreSession } from './store-session';

const EXPIRY_SWEEP_INTERVAL_MS = 1000;

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
  private sweeper?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => {
      this.write(async (session) => {
        for (const kind of RESOURCE_KINDS) await session.removeExpired(kind);
      }).catch((error: unknown) =>
        this.logger.error({ msg: 'expiry sweep failed', error: String(error) }),
      );
    }, EXPIRY_SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
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
      return committed;
    });
    // Data-plane workers apply the change in their own processes: the write is answered once they
    // acknowledged it (bounded by the worker pool). Awaited outside the queue, so the next write
    // can commit meanwhile; the IPC channel keeps the changes in order.
    if (applied) await Promise.all(applied);
    return result;
  }

  /** Waits for queued work to finish; used on shutdown before the database closes. */
  drain(): Promise<void> {
    return this.queue.run(() => Promise.resolve());
  }
}
