import { BlockList, isIP } from 'node:net';

/**
 * deployment.admin.allow_admin: the CIDRs that may reach the admin API. Built on net.BlockList so
 * v4 and v6 ranges are matched by the runtime rather than by hand.
 */
export class AddressAllowList {
  private readonly list = new BlockList();
  private readonly allowAll: boolean;

  constructor(cidrs: readonly string[] | undefined) {
    // An absent list means no restriction, like an nginx server block without allow/deny.
    this.allowAll = cidrs === undefined;
    for (const cidr of cidrs ?? []) {
      const [address, prefix] = cidr.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
  }

  allows(remoteAddress: string | undefined): boolean {
    if (this.allowAll) return true;
    if (!remoteAddress) return false;
    const address = unwrapMappedIpv4(remoteAddress);
    return this.list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
}

/** Dual-stack sockets report IPv4 clients as `::ffff:a.b.c.d`; rules are written for `a.b.c.d`. */
export function unwrapMappedIpv4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
