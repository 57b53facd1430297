export type { BalancerRegistry, ConnectFailure, NodeAttempts } from './types';
export { createBalancerRegistry } from './balancer-registry';
export type { BalancerRegistryOptions } from './balancer-registry';
export type { HealthFilter } from './upstream-balancer';
export { crc32OfString } from './crc32';
export { compileHashKeyResolver } from './hash-key';
export type { HashKeyResolver } from './hash-key';
export { pickerFactoryFor } from './picker-factories';
