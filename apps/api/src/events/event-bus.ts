import { Injectable, Logger } from '@nestjs/common';
import type { StraitEventMap, StraitEventName } from './strait-events';

type Handler<Name extends StraitEventName> = (payload: StraitEventMap[Name]) => void;

/**
 * The internal, typed event bus: the store publishes committed changes and the proxy adapter (and
 * later metrics, other nodes' relays, data-plane workers) subscribe. Handlers run synchronously in
 * subscription order; one failing handler is logged and does not stop the others, because a write
 * that has committed must still reach every subscriber.
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

  emit<Name extends StraitEventName>(name: Name, payload: StraitEventMap[Name]): void {
    for (const handler of this.handlers.get(name) ?? []) {
      try {
        handler(payload);
      } catch (error) {
        this.logger.error({ msg: 'event handler failed', event: name, error: String(error) });
      }
    }
  }
}
