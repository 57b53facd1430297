import { Injectable, Logger } from '@nestjs/common';
import type { StraitEventMap, StraitEventName } from './strait-events';

/**
 * A subscriber. It runs synchronously inside emit(); a subscriber whose work finishes elsewhere
 * (the data-plane worker processes, which apply a change and acknowledge it over IPC) returns a
 * promise that settles when that work is done.
 */
type Handler<Name extends StraitEventName> = (
  payload: StraitEventMap[Name],
) => void | Promise<unknown>;

/**
 * The internal, typed event bus: the store publishes committed changes and the proxy adapter (and
 * later metrics, other nodes' relays) subscribe. Handlers run synchronously in subscription order;
 * one failing handler is logged and does not stop the others, because a write that has committed
 * must still reach every subscriber. emit() returns a promise when some handler's work continues
 * asynchronously (data-plane workers), so the store can answer a write only once it is in force
 * everywhere; it never rejects.
 */
@Injectable()
export class EventBus {
  private readonly logger = new Logger(EventBus.name);
  private readonly handlers = new Map<StraitEventName, Handler<StraitEventName>[]>();

  on<Name extends StraitEventName>(name: Name, handler: Handler<Name>): () => void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler as Handler<StraitEventName>);
    this.handlers.set(name, list);
    return () => {
      const current = this.handlers.get(name) ?? [];
      this.handlers.set(
        name,
        current.filter((candidate) => candidate !== handler),
      );
    };
  }

  /**
   * Runs every handler now. Returns undefined when all of them finished synchronously, else a
   * promise that resolves once the asynchronous ones have settled (failures are logged).
   */
  emit<Name extends StraitEventName>(
    name: Name,
    payload: StraitEventMap[Name],
  ): Promise<void> | undefined {
    let pending: Promise<unknown>[] | undefined;
    for (const handler of this.handlers.get(name) ?? []) {
      try {
        const result = handler(payload);
        if (result !== undefined) {
          (pending ??= []).push(
            result.catch((error: unknown) =>
              this.logger.error({ msg: 'event handler failed', event: name, error: String(error) }),
            ),
          );
        }
      } catch (error) {
        this.logger.error({ msg: 'event handler failed', event: name, error: String(error) });
      }
    }
    return pending && Promise.all(pending).then(() => undefined);
  }
}
