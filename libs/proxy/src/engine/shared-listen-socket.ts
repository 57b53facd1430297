import { loadFastpath } from '@strait/fastpath';
import * as net from 'node:net';
import type { ListenerSpec } from '../config';
import { bindError, isNativeTcpSpec } from './listeners';

/**
 * Opens the listening socket of a native-path TCP spec for several processes to share (data-plane
 * workers: each engine is given the descriptor through `sharedListenSocket` and polls a copy).
 * Every process waits on the one accept queue and whichever is free takes the next connection, as
 * nginx workers do on a shared socket: a busy or stuck worker takes none, and a light load stays
 * on one worker instead of being spread by a hash (SO_REUSEPORT). Returns the descriptor, owned by
 * the caller; undefined when the spec is not for the native path or the addon is off. Throws
 * ERR_BIND as engine.listen() would.
 */
export function openSharedListenSocket(spec: ListenerSpec): number | undefined {
  if (!isNativeTcpSpec(spec)) return undefined;
  const binding = loadFastpath();
  if (!binding) return undefined;
  try {
    // ipv6Only as every listener: `0.0.0.0:P` and `[::]:P` can be two listeners.
    return binding.openTcpListenSocket(spec.host, spec.port, { ipv6Only: net.isIPv6(spec.host) });
  } catch (error) {
    throw bindError(spec, error);
  }
}
