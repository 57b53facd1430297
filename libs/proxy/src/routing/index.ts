export type { ConnectionContext, MatchExplanation, MatchFailure, RouteTable } from './types';
export { IpAddress, parseIpAddress } from './ip-address';
export type { IpFamily } from './ip-address';
export { IpNetwork, compileIpMatcher, isValidIpOrCidr, parseIpNetwork } from './ip-matcher';
export { RoutingError } from './routing-error';
export type { RoutingErrorCode } from './routing-error';
export { compileRouteTable, createRouteTableCompiler } from './route-table';
export type { CompiledRouteTable } from './route-table';
