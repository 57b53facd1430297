/**
 * The non-schema checks APISIX runs per resource, and the texts of the store-backed ones, in one
 * place for the admin service. Each returns APISIX's exact message or undefined.
 */
export { findForbiddenTimestamp } from './forbidden-properties';
export { checkServicePlugins, checkStreamRoutePlugins } from './plugin-checks';
export {
  KEY_MISMATCH_MESSAGE,
  validateCertificateAndKey,
  type DecryptPrivateKey,
} from './pem-checks';
export {
  SUPERIOR_IS_SELF_MESSAGE,
  protocolMismatchMessage,
  serviceNotFoundMessage,
  sslNotFoundMessage,
  sslWrongTypeMessage,
  superiorNotFoundMessage,
  upstreamNotFoundMessage,
} from './reference-messages';
export { checkSslCertificates } from './ssl-checks';
export {
  checkRouteAddresses,
  checkServiceReference,
  checkSuperiorReference,
  checkUpstreamReference,
  checkXrpcProtocol,
} from './stream-route-checks';
export {
  BARE_IPV6_MESSAGE,
  checkBareIpv6Nodes,
  checkChashKey,
  checkClientCertReference,
  checkHashNodePorts,
  checkPassHost,
  checkUpstreamTls,
} from './upstream-checks';
