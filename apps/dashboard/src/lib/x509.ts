import {
  Asn1Error,
  TAG,
  children,
  content,
  expectTag,
  integerBitLength,
  readNode,
  readOid,
  readString,
  readTime,
  type Asn1Node,
} from './asn1';

/** What the dashboard shows about a certificate: names, validity, issuer and key type. */
export interface CertificateInfo {
  subjectCommonName?: string;
  subject: string;
  issuer: string;
  /** DNS names and IP addresses of the subjectAltName extension, in order. */
  altNames: string[];
  /** The names a TLS client may ask for: the SANs, else the CN (browsers ignore the CN). */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
  isCertificateAuthority: boolean;
  keyAlgorithm: string;
  serialNumber: string;
}

export interface PemSummary {
  certificates: CertificateInfo[];
  /** Set when the text is not a PEM certificate (chain) that could be read. */
  error?: string;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  state: '2.5.4.8',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
} as const;

const ATTRIBUTE_NAMES: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.organization]: 'O',
  [OID.organizationalUnit]: 'OU',
  [OID.country]: 'C',
  [OID.locality]: 'L',
  [OID.state]: 'ST',
};

const CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

/** The base64 bodies of every `-----BEGIN <label>-----` block in the text. */
export function pemBlocks(text: string, label: string): Uint8Array[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  const blocks: Uint8Array[] = [];
  for (const match of text.matchAll(pattern)) {
    const base64 = match[1].replace(/[^A-Za-z0-9+/=]/g, '');
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
    blocks.push(bytes);
  }
  return blocks;
}

/** Reads every certificate of a PEM text; `$secret://` and `$env://` references are not parsed. */
export function summarizePem(text: string): PemSummary {
  const trimmed = text.trim();
  if (trimmed === '') return { certificates: [] };
  if (/^\$(secret|env):\/\//.test(trimmed)) {
    return {
      certificates: [],
      error: 'A secret reference: resolved by the service at handshake time.',
    };
  }
  try {
    const blocks = pemBlocks(trimmed, 'CERTIFICATE');
    if (blocks.length === 0)
      return { certificates: [], error: 'No "BEGIN CERTIFICATE" block found.' };
    return { certificates: blocks.map(parseCertificate) };
  } catch (error) {
    const reason =
      error instanceof Asn1Error || error instanceof DOMException ? error.message : String(error);
    return { certificates: [], error: `Not a readable certificate (${reason}).` };
  }
}

export function parseCertificate(der: Uint8Array): CertificateInfo {
  const certificate = expectTag(readNode(der), TAG.sequence, 'a Certificate SEQUENCE');
  const tbs = children(expectTag(children(certificate)[0], TAG.sequence, 'a TBSCertificate'));
  let index = 0;
  // version [0] EXPLICIT is absent in v1 certificates.
  if (tbs[index]?.tag === 0xa0) index += 1;
  const serial = expectTag(tbs[index], TAG.integer, 'a serial number');
  index += 2; // serialNumber, signature AlgorithmIdentifier
  const issuerNode = tbs[index++];
  const validity = children(expectTag(tbs[index++], TAG.sequence, 'a Validity'));
  const subjectNode = tbs[index++];
  const publicKeyInfo = tbs[index++];
  const issuer = readName(issuerNode);
  const subject = readName(subjectNode);
  const altNames: string[] = [];
  let isCertificateAuthority = false;
  for (const extra of tbs.slice(index)) {
    // extensions [3] EXPLICIT (issuerUniqueID [1] and subjectUniqueID [2] are skipped).
    if (extra.tag !== 0xa3) continue;
    const extensions = children(expectTag(children(extra)[0], TAG.sequence, 'Extensions'));
    for (const extension of extensions) {
      const parts = children(extension);
      const oid = readOid(parts[0]);
      const value = expectTag(parts[parts.length - 1], TAG.octetString, 'an extension value');
      const inner = readNode(content(value));
      if (oid === OID.subjectAltName) altNames.push(...readAltNames(inner));
      if (oid === OID.basicConstraints) {
        const flags = children(inner);
        isCertificateAuthority = flags[0]?.tag === TAG.boolean && content(flags[0])[0] !== 0;
      }
    }
  }
  const commonName = subject.attributes.find(([type]) => type === 'CN')?.[1];
  return {
    subjectCommonName: commonName,
    subject: subject.text,
    issuer: issuer.text,
    altNames,
    names: altNames.length > 0 ? altNames : commonName ? [commonName] : [],
    notBefore: readTime(validity[0]),
    notAfter: readTime(validity[1]),
    selfSigned: sameBytes(issuerNode, subjectNode),
    isCertificateAuthority,
    keyAlgorithm: readKeyAlgorithm(publicKeyInfo),
    serialNumber: Array.from(content(serial), (byte) => byte.toString(16).padStart(2, '0')).join(
      ':',
    ),
  };
}

function readName(node: Asn1Node): { text: string; attributes: Array<[string, string]> } {
  const attributes: Array<[string, string]> = [];
  for (const relativeName of children(expectTag(node, TAG.sequence, 'a Name'))) {
    for (const attribute of children(relativeName)) {
      const [type, value] = children(attribute);
      const oid = readOid(type);
      attributes.push([ATTRIBUTE_NAMES[oid] ?? oid, readString(value)]);
    }
  }
  return { text: attributes.map(([type, value]) => `${type}=${value}`).join(', '), attributes };
}

function readAltNames(node: Asn1Node): string[] {
  const names: string[] = [];
  for (const general of children(expectTag(node, TAG.sequence, 'GeneralNames'))) {
    const data = content(general);
    // Context-specific primitive tags of GeneralName (RFC 5280 4.2.1.6): [2] dNSName, [7] iPAddress.
    if (general.tag === 0x82) names.push(new TextDecoder().decode(data));
    if (general.tag === 0x87) names.push(formatIp(data));
  }
  return names;
}

function formatIp(data: Uint8Array): string {
  if (data.length === 4) return Array.from(data).join('.');
  const groups: string[] = [];
  for (let index = 0; index + 1 < data.length; index += 2) {
    groups.push(((data[index] << 8) | data[index + 1]).toString(16));
  }
  // Shorten the longest run of zero groups to "::" (RFC 5952).
  const text = groups.join(':');
  const runs = text.match(/(^|:)0(:0)+(:|$)/g);
  if (!runs) return text;
  const longest = runs.reduce((best, run) => (run.length > best.length ? run : best));
  return text.replace(longest, '::');
}

function readKeyAlgorithm(node: Asn1Node): string {
  const [algorithm, publicKey] = children(expectTag(node, TAG.sequence, 'a SubjectPublicKeyInfo'));
  const [oidNode, parameters] = children(algorithm);
  const oid = readOid(oidNode);
  if (oid === OID.rsaEncryption) {
    // BIT STRING: one octet of unused bits, then RSAPublicKey SEQUENCE { modulus, exponent }.
    const bits = content(expectTag(publicKey, TAG.bitString, 'a BIT STRING'));
    const rsaKey = readNode(bits.subarray(1));
    return `RSA ${integerBitLength(children(rsaKey)[0])}`;
  }
  if (oid === OID.ecPublicKey) {
    const curve = parameters?.tag === TAG.oid ? readOid(parameters) : '';
    return `ECDSA ${CURVES[curve] ?? curve}`.trim();
  }
  if (oid === OID.ed25519) return 'Ed25519';
  if (oid === OID.ed448) return 'Ed448';
  return oid;
}

function sameBytes(left: Asn1Node, right: Asn1Node): boolean {
  const a = left.bytes.subarray(left.start, left.end);
  const b = right.bytes.subarray(right.start, right.end);
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** The kind of private key a PEM text holds, or undefined when it is not a PEM key. */
export function describePrivateKey(text: string): string | undefined {
  const match = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----/.exec(text);
  if (!match) return undefined;
  switch (match[1]) {
    case 'RSA PRIVATE KEY':
      return 'RSA private key (PKCS#1)';
    case 'EC PRIVATE KEY':
      return 'EC private key (SEC 1)';
    case 'ENCRYPTED PRIVATE KEY':
      return 'Encrypted private key: the service cannot use a passphrase-protected key';
    default:
      return 'Private key (PKCS#8)';
  }
}

/** Whole days from now until `date` (negative once past). */
export function daysUntil(date: Date, now = Date.now()): number {
  return Math.floor((date.getTime() - now) / 86_400_000);
}
