/**
 * TLS clients for the specs: real sockets on loopback, everything bounded by deadlines. Not
 * exported from the package.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { LOOPBACK, withDeadline } from '../../engine/testing/loopback';

export interface TlsExchangeResult {
  /** Set when the handshake completed on the client side. */
  secure: boolean;
  /** Fingerprint of the certificate the server presented. */
  served?: string;
  keyType?: string;
  protocol?: string | null;
  /** The session the server resumed (true) or not. */
  resumed?: boolean;
  /** Everything read before close. */
  data: string;
  /** The first error the client saw (`ERR_SSL_TLSV1_UNRECOGNIZED_NAME`, `ECONNRESET`...). */
  errorCode?: string;
  /** Session data for resumption (the last ticket received). */
  session?: Buffer;
}

export interface TlsExchangeOptions extends tls.ConnectionOptions {
  /** Written once the handshake completes; the client then ends its side (FIN). */
  payload?: string;
  /** Keep the connection open after the payload; the caller ends it. */
  keepOpen?: boolean;
}

/**
 * Connects with TLS, sends `payload`, ends, and collects until close. Certificates are not
 * verified unless the options ask (`ca` + `rejectUnauthorized`): tests identify the served
 * certificate by fingerprint instead.
 */
export function tlsExchange(
  port: number,
  options: TlsExchangeOptions = {},
  deadlineMs = 4000,
): Promise<TlsExchangeResult> {
  const { payload, keepOpen, ...connect } = options;
  const socket = tls.connect({
    host: LOOPBACK,
    port,
    rejectUnauthorized: false,
    ...connect,
  });
  // A failed deadline must not leave the socket keeping the test process alive.
  return withDeadline(collectTls(socket, payload, keepOpen), deadlineMs, 'TLS exchange').finally(
    () => socket.destroy(),
  );
}

function collectTls(
  socket: tls.TLSSocket,
  payload: string | undefined,
  keepOpen: boolean | undefined,
): Promise<TlsExchangeResult> {
  return new Promise((resolve) => {
    const result: TlsExchangeResult = { secure: false, data: '' };
    socket.setEncoding('utf8');
    socket.on('secureConnect', () => {
      result.secure = true;
      const certificate = socket.getPeerX509Certificate();
      result.served = certificate?.fingerprint256;
      result.keyType = certificate?.publicKey.asymmetricKeyType;
      result.protocol = socket.getProtocol();
      result.resumed = socket.isSessionReused();
      if (payload !== undefined) socket.write(payload);
      if (!keepOpen) socket.end();
    });
    socket.on('session', (session: Buffer) => (result.session = session));
    socket.on('data', (chunk: string) => (result.data += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (result.errorCode ??= error.code));
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve(result));
  });
}

/** An open TLS connection the test drives step by step. */
export async function openTlsClient(
  port: number,
  options: tls.ConnectionOptions = {},
): Promise<{ socket: tls.TLSSocket; received: () => string; closed: Promise<void> }> {
  const socket = tls.connect({ host: LOOPBACK, port, rejectUnauthorized: false, ...options });
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    }),
    3000,
    'TLS client connect',
  );
  return { socket, received: () => received, closed };
}

/** A raw TCP client that writes `bytes` and reports how the server ended the connection. */
export function rawExchange(
  port: number,
  bytes: Buffer | string,
  deadlineMs = 4000,
): Promise<{ data: Buffer; errorCode?: string; closedAfterMs: number }> {
  const startedAt = Date.now();
  const socket = net.connect({ host: LOOPBACK, port });
  socket.write(bytes);
  const result = withDeadline(
    new Promise<{ data: Buffer; errorCode?: string; closedAfterMs: number }>((resolve) => {
      const chunks: Buffer[] = [];
      let errorCode: string | undefined;
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => (errorCode = error.code));
      socket.on('end', () => socket.end());
      socket.on('close', () =>
        resolve({ data: Buffer.concat(chunks), errorCode, closedAfterMs: Date.now() - startedAt }),
      );
    }),
    deadlineMs,
    'raw exchange',
  );
  return result.finally(() => socket.destroy());
}
