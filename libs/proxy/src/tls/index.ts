/**
 * Certificate selection and description for the control plane: which SSL object a handshake for
 * a name would get (the same code the TLS front uses), and what a PEM certificate says.
 */
export { CertificateIndex, selectCertificate } from './certificate-index';
export type { CertificateMissReason, CertificateSelection } from './certificate-index';
export { describeCertificate } from './certificate-description';
export type { CertificateDescription } from './certificate-description';
export { normaliseServerName } from './server-name';
export { protocolVersionOptions } from './protocol-versions';
export type { ProtocolVersionOptions } from './protocol-versions';
