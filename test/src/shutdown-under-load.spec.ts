// Graceful shutdown under load: SIGTERM while 50 connections stream data from their backends and
// 10 more stream data to theirs. The listeners stop accepting at once, every open transfer runs
// to its end byte for byte within strait.drain_timeout, and the process exits 0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { adminOk } from './support/admin-client';
import { countingClient } from './support/byte-clients';
import { freeTcpPort } from './support/ports';
import { ms, recordReliability } from './support/reliability-report';
import { StraitProcess } from './support/strait-process';
import { delay, waitFor, withDeadline } from './support/wait';

const DRAIN_TIMEOUT_S = 5;
const DOWNLOADS = 50;
const UPLOADS = 10;
const CHUNK_BYTES = 64 * 1024;
const CHUNKS = 24; // 1.5 MiB per download, one chunk every 60 ms: about 1.4 s each
const CHUNK_INTERVAL_MS = 60;

function chunk(index: number): Buffer {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  for (let offset = 0; offset < CHUNK_BYTES; offset += 1)
    buffer[offset] = (offset * 31 + index * 7) & 0xff;
  return buffer;
}
const CHUNK_DATA = Array.from({ length: CHUNKS }, (_, index) => chunk(index));
const EXPECTED_SHA = CHUNK_DATA.reduce(
  (hash, data) => hash.update(data),
  createHash('sha256'),
).digest('hex');

/** Sends CHUNKS paced chunks to every client, then ends. */
async function startPacedSource(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let index = 0;
    const timer = setInterval(() => {
      socket.write(CHUNK_DATA[index++]);
      if (index === CHUNKS) {
        clearInterval(timer);
        socket.end();
      }
    }, CHUNK_INTERVAL_MS);
    socket.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads everything a client sends and, at its end, answers `<bytes> <sha256>` and ends. */
async function startDigestSink(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (data: Buffer) => {
      bytes += data.length;
      hash.update(data);
    });
    socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client that uploads CHUNKS paced chunks, half-closes, and resolves with the sink's answer. */
function upload(port: number): {
  started: Promise<void>;
  answer: Promise<{ text: string; errorCode?: string }>;
} {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let text = '';
  let errorCode: string | undefined;
  socket.on('data', (data: Buffer) => (text += data.toString()));
  socket.on('error', (error: NodeJS.ErrnoException) => (errorCode ??= error.code));
  const started = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const answer = new Promise<{ text: string; errorCode?: string }>((resolve) => {
    socket.once('connect', () => {
      let index = 0;
      const timer = setInterval(() => {
        socket.write(CHUNK_DATA[index++]);
        if (index === CHUNKS) {
          clearInterval(timer);
          socket.end();
        }
      }, CHUNK_INTERVAL_MS);
      socket.on('close', () => clearInterval(timer));
    });
    socket.once('close', () => resolve({ text, errorCode }));
  });
  return { started, answer };
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('graceful shutdown under load', { timeout: 90_000 }, () => {
  it(`SIGTERM during ${DOWNLOADS} downloads and ${UPLOADS} uploads: all finish byte for byte within the drain timeout, exit 0`, async (t) => {
    const source = await startPacedSource();
    const sink = await startDigestSink();
    t.after(() => Promise.all([source.close(), sink.close()]));
    const port = { down: await freeTcpPort(), up: await freeTcpPort() };
    const strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - "127.0.0.1:${port.down}"`,
        `    - "127.0.0.1:${port.up}"`,
      ].join('\n'),
      straitYaml: `  drain_timeout: ${DRAIN_TIMEOUT_S}`,
    });
    t.after(() => strait.stop('SIGKILL'));
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/down', {
      server_port: port.down,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${source.port}`]: 1 } },
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/up', {
      server_port: port.up,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${sink.port}`]: 1 } },
    });

    const downloads = await Promise.all(
      Array.from({ length: DOWNLOADS }, () => countingClient(port.down, { hash: true })),
    );
    const uploads = Array.from({ length: UPLOADS }, () => upload(port.up));
    await Promise.all(uploads.map((client) => client.started));
    // Mid-transfer: every download has its first chunks, none is finished.
    await Promise.all(downloads.map((client) => client.waitForBytes(2 * CHUNK_BYTES, 5000)));
    assert.ok(downloads.every((client) => !client.isClosed));
    const receivedAtSignal = downloads.reduce((sum, client) => sum + client.bytes, 0);

    const signalled = Date.now();
    strait.child.kill('SIGTERM');
    await strait.waitForOutput('stopping', 3000);
    const refusedAfter = await waitFor(
      async () =>
        (await connectOutcome(port.down)) === 'ECONNREFUSED' ? Date.now() - signalled : undefined,
      2000,
      'the stream listeners to stop accepting',
    );
    const downloaded = await withDeadline(
      Promise.all(downloads.map((client) => client.closed)),
      (DRAIN_TIMEOUT_S + 3) * 1000,
      'the downloads to finish',
    );
    const uploaded = await withDeadline(
      Promise.all(uploads.map((client) => client.answer)),
      (DRAIN_TIMEOUT_S + 3) * 1000,
      'the uploads to be answered',
    );
    const lastDone = Math.max(...downloaded.map((outcome) => outcome.closedAt)) - signalled;
    const code = await strait.waitForExit((DRAIN_TIMEOUT_S + 5) * 1000);
    const exitedAfter = Date.now() - signalled;

    const total = CHUNK_BYTES * CHUNKS;
    const incomplete = downloaded.filter(
      (outcome) =>
        outcome.bytes !== total ||
        outcome.sha256 !== EXPECTED_SHA ||
        outcome.errorCode !== undefined,
    );
    assert.deepEqual(
      incomplete.map((outcome) => `${outcome.bytes} bytes, ${outcome.errorCode ?? 'clean'}`),
      [],
      'every download complete and intact',
    );
    const expectedAnswer = `${total} ${EXPECTED_SHA}`;
    const badUploads = uploaded.filter(
      (answer) => answer.text !== expectedAnswer || answer.errorCode,
    );
    assert.deepEqual(badUploads, [], 'every upload arrived intact and was answered');
    assert.equal(code, 0, `exit code ${code}`);
    assert.ok(
      lastDone < DRAIN_TIMEOUT_S * 1000,
      `last transfer ended ${lastDone} ms after SIGTERM`,
    );
    assert.ok(
      exitedAfter < DRAIN_TIMEOUT_S * 1000 + 1500,
      `exited ${exitedAfter} ms after SIGTERM`,
    );
    await delay(0);
    t.diagnostic(
      `refused new connections after ${refusedAfter} ms, last transfer done ${lastDone} ms, exit ${exitedAfter} ms`,
    );
    recordReliability({
      section: 'Shutdown',
      title: `SIGTERM with ${DOWNLOADS + UPLOADS} connections mid-transfer`,
      checked:
        `with strait.drain_timeout ${DRAIN_TIMEOUT_S} s, SIGTERM arrived while ${DOWNLOADS} clients were downloading and ` +
        `${UPLOADS} uploading ${total / 1024} KiB each (paced over ~1.4 s); new connections were refused at once; every ` +
        'download arrived complete with the right sha256 and a clean close, every upload was acknowledged by the backend ' +
        'with the right byte count and sha256, and the process exited 0 right after the last transfer.',
      facts: {
        'connections open at SIGTERM': DOWNLOADS + UPLOADS,
        'bytes already downloaded at SIGTERM': receivedAtSignal,
        'bytes per transfer': total,
        'new connections refused after': ms(refusedAfter),
        'last transfer finished after': ms(lastDone),
        'process exited after (code)': `${ms(exitedAfter)} (${code})`,
        'transfers cut or corrupted': incomplete.length + badUploads.length,
      },
    });
  });
});
