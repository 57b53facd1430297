import { compileIpMatcher, parseIpAddress } from '../routing';

/**
 * The realIpFrom list compiled once: whether a TCP peer's PROXY header may set remote_addr
 * (nginx `set_real_ip_from`). Undefined when no list is configured (every peer is believed).
 * Throws ERR_INVALID_IP for an entry that is not an IP or CIDR.
 */
export function trustedPeers(
  realIpFrom: readonly string[] | undefined,
): ((peerAddr: string) => boolean) | undefined {
  if (realIpFrom === undefined) return undefined;
  const networks = realIpFrom.map((entry) => compileIpMatcher(entry));
  return (peerAddr) => {
    const address = parseIpAddress(peerAddr);
    return address !== undefined && networks.some((network) => network.matches(address));
  };
}
