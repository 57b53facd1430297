import type { ListenerEntry } from '../config/strait-config';
import type { StoreAction } from '../events/strait-events';
import type { ListenerStatus } from './data-plane';

export const STORE_ACTIONS: readonly StoreAction[] = ['created', 'updated', 'deleted'];

/**
 * The status rows of the configured listeners: `boundIds[i]` is the id listener i was bound under
 * (the OS's spelling of the address, the ephemeral port of port 0), `open` the ids open now.
 */
export function listenerStatusRows(
  configured: readonly ListenerEntry[],
  bound: readonly ({ id: string } | undefined)[],
  open: ReadonlySet<string>,
): ListenerStatus[] {
  return configured.map((listener, index) => {
    const id = bound[index]?.id ?? `${listener.protocol}://${listener.host}:${listener.port}`;
    return {
      id,
      up: open.has(id),
      configKey: listener.configKey,
      protocol: listener.protocol,
      host: listener.host,
      port: listener.port,
      tls: listener.tls,
    };
  });
}
