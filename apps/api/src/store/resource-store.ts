import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { EventBus } from '../events/event-bus';
import { ExpiryTimer } from './expiry-timer';
import { RESOURCE_KINDS } from './resource-kind';
import { SerialQueue } from './serial-queue';
import { StoreSession } from './store-session';

/** After a failed expiry sweep, the next try. */
const EXPIRY_RETRY_MS = 1000;

/** A write waiting for its group commit. */
interface PendingWrite {
  work: (session: StoreSession) => Promise<unknown>;
  done: (outcome: WriteOutcome) => void;
}

type WriteOutcome =
  | { ok: true; value: unknown; applied: Promise<void>[] | undefined }
  | { ok: false; error: unknown };

/**
 * The one way into persisted admin objects. Writes run in a transaction and are acknowledged only
 * after the commit (SQLite in WAL mode with synchronous=FULL, so an acknowledged write survives a
 * crash); their change events are published on the bus right after the commit, before the caller
 * answers the HTTP request, so a route is in force when its PUT returns (with data-plane workers,
 * once every worker acknowledged applying it).
 *
 * Group commit: the writes that are waiting when the store gets to them share one transaction,
 * each in a savepoint of its own, so a batch costs one durable commit (an fsync) and one
 * re-apply of the proxy config instead of one of each per write. A write that fails rolls back
 * to its savepoint and fails alone; the others of its batch commit. Writes still run one after
 * another, in arrival order, each seeing the ones before it.
 */
@Injectable()
export class ResourceStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResourceStore.name);
  private readonly queue = new SerialQueue();
  /** Writes waiting for the next group commit (queued once, see write()). */
  private waiting: PendingWrite[] = [];
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
    const outcome = await new Promise<WriteOutcome>((done) => {
      this.waiting.push({ work, done });
      // The first write of a batch queues the commit; later ones join it until it starts.
      if (this.waiting.length === 1) void this.queue.run(() => this.commitWaiting());
    });
    if (!outcome.ok) throw outcome.error;
    // Data-plane workers apply the change in their own processes: the write is answered once they
    // acknowledged it (bounded by the worker pool). Awaited outside the queue, so the next batch
    // can commit meanwhile; the IPC channel keeps the changes in order.
    if (outcome.applied) await Promise.all(outcome.applied);
    return outcome.value as T;
  }

  /**
   * Commits every waiting write in one transaction (see the class comment), then publishes their
   * changes in order and answers them. When the transaction itself fails (the commit, or a
   * savepoint that could not be rolled back), no write of the batch is stored and all of them fail.
   */
  private async commitWaiting(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    const results: ({ session: StoreSession; value: unknown } | { error: unknown })[] = [];
    try {
      await this.dataSource.transaction(async (manager) => {
        for (const write of batch) {
          results.push(await this.runInSavepoint(manager, write, batch.length > 1));
        }
      });
    } catch (error) {
      for (const write of batch) write.done({ ok: false, error });
      return;
    }
    batch.forEach((write, index) => {
      const result = results[index];
      if ('error' in result) return write.done({ ok: false, error: result.error });
      // emit() never throws: a failing subscriber is logged by the bus.
      write.done({ ok: true, value: result.value, applied: this.publish(result.session) });
    });
  }

  /**
   * One write of a batch. Its own failure is returned (after rolling its savepoint back); a
   * failure to roll back throws, which fails the whole batch rather than commit half a write.
   * A batch of one needs no savepoint: the transaction is the write.
   */
  private async runInSavepoint(
    manager: EntityManager,
    write: PendingWrite,
    savepoint: boolean,
  ): Promise<{ session: StoreSession; value: unknown } | { error: unknown }> {
    const session = new StoreSession(manager, Date.now);
    if (!savepoint) return { session, value: await write.work(session) };
    const runner = manager.queryRunner!;
    await runner.startTransaction(); // SAVEPOINT (nested in the batch's transaction)
    try {
      const value = await write.work(session);
      await runner.commitTransaction(); // RELEASE SAVEPOINT
      return { session, value };
    } catch (error) {
      await runner.rollbackTransaction(); // ROLLBACK TO SAVEPOINT; throws → the batch fails
      return { error };
    }
  }

  /** A committed write's change events on the bus; the pending applies of other processes. */
  private publish(session: StoreSession): Promise<void>[] | undefined {
    let applied: Promise<void>[] | undefined;
    for (const change of session.changes) {
      const pending = this.bus.emit(change.name, change.event);
      if (pending) (applied ??= []).push(pending);
    }
    if (session.earliestExpiryWritten !== undefined) {
      this.expiry.expireBy(session.earliestExpiryWritten);
    }
    return applied;
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
