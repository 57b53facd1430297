import { isIPv6, SocketAddress } from 'node:net';
import type { TransportProtocol } from '../config';

/**
 * A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; routes and logs speak plain IPv4
 * (nginx's $remote_addr does too), so the mapped prefix is dropped.
 */
export function unwrapMappedAddress(address: string): string {
  if (
    address.length > 7 &&
    address.charCodeAt(0) === 58 /* ':' */ &&
    address.startsWith('::ffff:')
  ) {
    const rest = address.slice(7);
    if (rest.includes('.')) return rest;
  }
  return address;
}

/** `127.0.0.1:80` or `[::1]:80`: the bracket form keeps IPv6 ports unambiguous. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

const nodeLabels = new WeakMap<object, { host: string; port: number; label: string }>();

/**
 * formatHostPort() of an upstream node, computed once per node object (nodes are immutable parts
 * of an applied config): the label in every connection event would otherwise be built, with an
 * IPv6 test, per connection.
 */
export function nodeLabelOf(node: { readonly host: string; readonly port: number }): string {
  const cached = nodeLabels.get(node);
  if (cached !== undefined && cached.host === node.host && cached.port === node.port) {
    return cached.label;
  }
  const label = formatHostPort(node.host, node.port);
  nodeLabels.set(node, { host: node.host, port: node.port, label });
  return label;
}

/** The stable listener id used in events and metrics: `tcp://127.0.0.1:9100`, `udp://[::1]:53`. */
export function listenerId(protocol: TransportProtocol, host: string, port: number): string {
  return `${protocol}://${formatHostPort(host, port)}`;
}

/** A listener on a wildcard address learns the real local address per connection. */
export function isWildcardAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '::0' || host === '0:0:0:0:0:0:0:0';
}

/** Durations in events keep microseconds, not the float noise of performance.now(). */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * The spelling getpeername would give an IPv6 address (RFC 5952, via inet_ntop): `0:0::1` and
 * `::1` must match the same routes and look the same in logs. IPv4-mapped addresses come out as
 * plain IPv4, like unwrapMappedAddress().
 */
export function canonicalIpv6(address: string): string {
  return unwrapMappedAddress(new SocketAddress({ address, family: 'ipv6' }).address);
}
