import type { PrereadOutcome, PrereadSession } from '../engine/preread';
import { parseIpAddress, type IpAddress } from '../routing/ip-address';
import { parseIpNetwork, type IpNetwork } from '../routing/ip-matcher';
import {
  PluginConfError,
  REJECT_403,
  REJECT_404,
  type PluginStep,
  type StreamPlugin,
} from './plugin-types';

function compileList(list: unknown): IpNetwork[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new PluginConfError('whitelist/blacklist must be an array');
  return list.map((entry) => {
    const network = parseIpNetwork(String(entry));
    if (network === undefined) throw new PluginConfError(`invalid ip address: ${String(entry)}`);
    return network;
  });
}

function anyMatches(networks: readonly IpNetwork[], address: IpAddress): boolean {
  for (const network of networks) if (network.matches(address)) return true;
  return false;
}

/**
 * ip-restriction (3000): `$remote_addr` against the compiled whitelist or blacklist (IPs and CIDRs,
 * v4 and v6, lua-resty-ipmatcher semantics). A refused client is closed without a byte; the
 * `message` is never sent in stream; `response_code` (403 default, or 404) becomes the status.
 */
class IpRestrictionStep implements PluginStep {
  readonly name = 'ip-restriction';

  constructor(
    private readonly whitelist: readonly IpNetwork[] | undefined,
    private readonly blacklist: readonly IpNetwork[] | undefined,
    private readonly rejection: typeof REJECT_403,
  ) {}

  run(session: PrereadSession): PrereadOutcome {
    const address = parseIpAddress(session.context.remoteAddr);
    // An address that is not IP (never for TCP/UDP) matches no list entry.
    if (this.blacklist && address && anyMatches(this.blacklist, address)) return this.rejection;
    if (this.whitelist && !(address && anyMatches(this.whitelist, address))) return this.rejection;
    return undefined;
  }
}

export const ipRestrictionPlugin: StreamPlugin = {
  name: 'ip-restriction',
  priority: 3000,
  compile(conf) {
    const whitelist = compileList(conf.whitelist);
    const blacklist = compileList(conf.blacklist);
    if (!whitelist && !blacklist) throw new PluginConfError('needs a whitelist or a blacklist');
    return new IpRestrictionStep(
      whitelist,
      blacklist,
      conf.response_code === 404 ? REJECT_404 : REJECT_403,
    );
  },
};
