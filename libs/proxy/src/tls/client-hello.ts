/**
 * Reads the SNI out of a TLS ClientHello before any TLS object exists, the way APISIX's
 * ssl_client_hello_by_lua does, so the certificate object (and with it the protocol versions and
 * the client-certificate policy) is known before OpenSSL starts: see tls-front.ts for why.
 *
 * Only what is needed is checked: record framing, the handshake type, and the extension list
 * down to server_name. OpenSSL parses the same bytes again and rejects anything else malformed.
 */

/** TLS record content type handshake(22) and handshake type client_hello(1). */
const HANDSHAKE_RECORD = 22;
const CLIENT_HELLO = 1;
const SERVER_NAME_EXTENSION = 0;
const HOST_NAME_TYPE = 0;
/** RFC 8446 5.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD_LENGTH = 16_384;
/**
 * A ClientHello with post-quantum key shares is ~2 KiB; 32 KiB leaves room for long PSK and
 * extension lists while bounding what one pending handshake may make the proxy buffer.
 */
export const MAX_CLIENT_HELLO_LENGTH = 32 * 1024;

export type ClientHelloScan =
  /**
   * `needed`: how many bytes there must be at least before the scan can end, so a caller
   * receiving the hello in small pieces can wait for them instead of scanning again per piece.
   */
  | { readonly kind: 'incomplete'; readonly needed: number }
  | { readonly kind: 'invalid'; readonly reason: string }
  /** `serverName` is the raw host_name (not normalised); undefined when the client sent none. */
  | { readonly kind: 'complete'; readonly serverName: string | undefined };

function incomplete(needed: number): ClientHelloScan {
  return { kind: 'incomplete', needed };
}

function invalid(reason: string): ClientHelloScan {
  return { kind: 'invalid', reason };
}

/**
 * Scans the bytes received so far. `incomplete` means "read more" (the caller bounds how much);
 * garbage is recognised from its first byte, so a plain-text client is turned away at once.
 */
export function scanClientHello(data: Buffer): ClientHelloScan {
  if (data.length === 0) return incomplete(5);
  if (data[0] !== HANDSHAKE_RECORD) {
    // 0x80 in the first byte is an SSLv2-format hello (no extensions, so never any SNI).
    return invalid(data[0] & 0x80 ? 'SSLv2 ClientHello' : 'not a TLS handshake record');
  }
  // The handshake message may span several records (RFC 8446 5.1); gather its fragments.
  const fragments: Buffer[] = [];
  let gathered = 0;
  let messageLength = -1;
  let offset = 0;
  for (;;) {
    if (data.length > offset && data[offset] !== HANDSHAKE_RECORD) {
      return invalid('ClientHello interleaved with another record type');
    }
    if (data.length > offset + 1 && data[offset + 1] !== 3) return invalid('not a TLS record');
    if (data.length < offset + 5) return incomplete(offset + 5);
    const recordLength = data.readUInt16BE(offset + 3);
    if (recordLength === 0 || recordLength > MAX_RECORD_LENGTH) {
      return invalid('bad record length');
    }
    const start = offset + 5;
    if (
      messageLength < 0 &&
      gathered === 0 &&
      data.length > start &&
      data[start] !== CLIENT_HELLO
    ) {
      return invalid('first handshake message is not a ClientHello');
    }
    const end = start + recordLength;
    if (data.length < end) return incomplete(end);
    fragments.push(data.subarray(start, end));
    gathered += recordLength;
    if (messageLength < 0 && gathered >= 4) {
      const head = fragments.length === 1 ? fragments[0] : Buffer.concat(fragments);
      if (head[0] !== CLIENT_HELLO) return invalid('first handshake message is not a ClientHello');
      messageLength = head.readUIntBE(1, 3);
      if (messageLength > MAX_CLIENT_HELLO_LENGTH) return invalid('ClientHello too large');
    }
    if (messageLength >= 0 && gathered >= 4 + messageLength) break;
    offset = end;
  }
  const message = fragments.length === 1 ? fragments[0] : Buffer.concat(fragments, gathered);
  return readServerName(message, 4, 4 + messageLength);
}

/** Walks a ClientHello body (RFC 8446 4.1.2) to the server_name extension (RFC 6066 3). */
function readServerName(body: Buffer, start: number, end: number): ClientHelloScan {
  let position = start + 2 + 32; // legacy_version, random
  if (position + 1 > end) return invalid('truncated ClientHello');
  position += 1 + body[position]; // legacy_session_id
  if (position + 2 > end) return invalid('truncated ClientHello');
  position += 2 + body.readUInt16BE(position); // cipher_suites
  if (position + 1 > end) return invalid('truncated ClientHello');
  position += 1 + body[position]; // legacy_compression_methods
  if (position > end) return invalid('truncated ClientHello');
  if (position === end) return { kind: 'complete', serverName: undefined }; // no extensions
  if (position + 2 > end) return invalid('truncated extensions');
  const extensionsEnd = position + 2 + body.readUInt16BE(position);
  if (extensionsEnd > end) return invalid('truncated extensions');
  position += 2;
  while (position + 4 <= extensionsEnd) {
    const type = body.readUInt16BE(position);
    const length = body.readUInt16BE(position + 2);
    position += 4;
    if (position + length > extensionsEnd) return invalid('truncated extension');
    if (type === SERVER_NAME_EXTENSION) return readHostName(body, position, position + length);
    position += length;
  }
  return { kind: 'complete', serverName: undefined };
}

function readHostName(body: Buffer, start: number, end: number): ClientHelloScan {
  if (start + 2 > end) return invalid('truncated server_name');
  const listEnd = start + 2 + body.readUInt16BE(start);
  if (listEnd > end) return invalid('truncated server_name');
  let position = start + 2;
  while (position + 3 <= listEnd) {
    const nameType = body[position];
    const length = body.readUInt16BE(position + 1);
    position += 3;
    if (position + length > listEnd) return invalid('truncated server_name');
    if (nameType === HOST_NAME_TYPE && length > 0) {
      return { kind: 'complete', serverName: body.toString('latin1', position, position + length) };
    }
    position += length;
  }
  return { kind: 'complete', serverName: undefined };
}
