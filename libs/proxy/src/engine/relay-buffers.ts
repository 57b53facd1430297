import * as net from 'node:net';

/**
 * Relay reads without a fresh buffer per read.
 *
 * By default every read of a net.Socket lands in a newly allocated 64 KiB backing store that
 * lives until the garbage collector frees it: on a bulk transfer that is one malloc, one
 * FastBuffer and, as the heap grows and is trimmed again, a steady stream of minor page faults
 * (about 180,000 per GB relayed, docs/benchmarks.md). Node's `onread: { buffer, callback }`
 * socket option reads into memory the caller owns instead; this module applies it to sockets the
 * engine did not construct itself (accepted clients, upstreams from a replaceable connector)
 * through the same per-socket slots the option fills in (`kBuffer`, `kBufferCb`, `kBufferGen`,
 * found by name on a probe socket once, at load), and falls back to 'data' events when they are
 * not there.
 *
 * Who owns which memory (a write that does not complete at once keeps pointing into the chunk it
 * was given, in libuv's queue or in the Writable buffer, so memory handed to write() must not be
 * read into again until that write is done):
 *
 * - Every socket starts reading into one engine-wide buffer (`shared`): idle connections cost no
 *   buffer at all. Bytes read there are always copied before they are written, so the shared
 *   buffer is never lent to a write and any socket may read into it next.
 * - A socket whose read filled at least BUSY_READ bytes is busy: its next reads go to a buffer of
 *   its own, taken from a small free list. Bytes read there are written without a copy when the
 *   destination has nothing queued; when that write did not complete at once the buffer stays
 *   with the write (and the garbage collector) and the socket takes another one. When the
 *   destination already has bytes queued, the chunk is copied, since the write will queue.
 * - A small read sends the socket back to the shared buffer and its own goes back to the list;
 *   so does closing it.
 *
 * Reads are synchronous on the one JavaScript thread (libuv reads, then calls back before it
 * reads any other socket), which is what makes the shared buffer safe.
 */

/**
 * Bytes read at once into a socket's own buffer. Node's default read is 64 KiB; on loopback 128 KiB
 * took a third less CPU per GB relayed (fewer read/write calls for the same bytes), and the memory
 * is held only by busy sockets (see above), never by idle ones.
 */
export const RELAY_READ_SIZE = 128 * 1024;
/** A read at least this large marks the socket busy (see above). */
const BUSY_READ = 16 * 1024;
/** Free own buffers kept for reuse; beyond that they are left to the garbage collector. */
const FREE_LIST_LIMIT = 64;

interface UserBufferSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

const slots = findUserBufferSlots();
let enabled = slots !== undefined;

const shared: Buffer = Buffer.allocUnsafeSlow(RELAY_READ_SIZE);
const freeList: Buffer[] = [];
/** The buffer chosen by the last relayChunk() for the socket that just read (see nextBuffer). */
let chosen: Buffer = shared;
const kOwnBuffer = Symbol('strait.relayBuffer');

type RelaySocket = net.Socket & { [kOwnBuffer]?: Buffer };
type StreamHandle = { reading?: boolean; useUserBuffer?: (buffer: Uint8Array) => void };

/** `this` is the socket that read; return false to stop reading it (back-pressure). */
export type RelayReadCallback = (this: net.Socket, nread: number, buffer: Buffer) => boolean;

function findUserBufferSlots(): UserBufferSlots | undefined {
  try {
    const probe = new net.Socket();
    const byName = new Map<string | undefined, symbol>();
    for (const symbol of Object.getOwnPropertySymbols(probe))
      byName.set(symbol.description, symbol);
    probe.destroy();
    const buffer = byName.get('kBuffer');
    const callback = byName.get('kBufferCb');
    const generator = byName.get('kBufferGen');
    if (!buffer || !callback || !generator) return undefined;
    return { buffer, callback, generator };
  } catch {
    return undefined;
  }
}

/** Whether user-buffer reads are available and on (tests turn them off to cover the fallback). */
export function userBufferReadsEnabled(): boolean {
  return enabled;
}

/** For tests: run the relay on 'data' events (false) or on user-buffer reads where available. */
export function setUserBufferReads(on: boolean): void {
  enabled = on && slots !== undefined;
}

/**
 * Makes `callback` receive the socket's reads in engine-owned memory. Only for a plain TCP socket
 * that is not reading yet and holds nothing read earlier (a paused accepted socket, or an upstream
 * at 'connect'); returns false, changing nothing, for anything else, and the caller then listens
 * for 'data' as usual. End of stream, errors, pause() and resume() work as for any socket.
 */
export function readIntoRelayBuffers(socket: net.Socket, callback: RelayReadCallback): boolean {
  if (!enabled) return false;
  const handle = (socket as unknown as { _handle: StreamHandle | null })._handle;
  if (
    !handle ||
    handle.reading === true ||
    typeof handle.useUserBuffer !== 'function' ||
    // Only a socket nothing was ever read from (no preread peek, no handshake, no EOF seen):
    // anything read earlier must keep flowing through the Readable buffer it sits in.
    socket.bytesRead > 0 ||
    socket.readableLength > 0 ||
    socket.readableEnded ||
    (socket as { _readableState?: { ended?: boolean } })._readableState?.ended === true ||
    socket.destroyed ||
    (socket as { encrypted?: boolean }).encrypted === true
  ) {
    return false;
  }
  const target = socket as unknown as Record<symbol, unknown>;
  const { buffer, callback: callbackSlot, generator } = slots!;
  target[buffer] = shared;
  target[callbackSlot] = callback;
  target[generator] = nextBuffer;
  handle.useUserBuffer(shared);
  return true;
}

/** Called by Node right after the callback: the memory the same socket reads into next. */
function nextBuffer(): Buffer {
  const next = chosen;
  chosen = shared;
  return next;
}

/**
 * Writes the `nread` bytes that `source` read into `buffer` to `destination` and picks the memory
 * of the source's next read. Returns write()'s verdict: false when the destination is over its
 * high-water mark and the source should stop reading until 'drain'.
 */
export function relayChunk(
  source: net.Socket,
  destination: net.Socket,
  nread: number,
  buffer: Buffer,
): boolean {
  const socket = source as RelaySocket;
  let own = socket[kOwnBuffer];
  let flowing: boolean;
  if (buffer !== own || destination.writableLength > 0) {
    // The shared buffer (or a chunk that is going to wait in the queue anyway): copy.
    const copy = Buffer.allocUnsafe(nread);
    buffer.copy(copy, 0, 0, nread);
    flowing = destination.write(copy);
  } else {
    flowing = destination.write(buffer.subarray(0, nread));
    // Not all taken by the kernel: the rest of the buffer belongs to that write now.
    if (destination.writableLength > 0) own = socket[kOwnBuffer] = undefined;
  }
  if (nread >= BUSY_READ) {
    own ??= socket[kOwnBuffer] = freeList.pop() ?? Buffer.allocUnsafeSlow(RELAY_READ_SIZE);
    chosen = own;
  } else {
    if (own !== undefined) releaseOwnBuffer(socket);
    chosen = shared;
  }
  return flowing;
}

/** Gives a closed (or quiet) socket's own buffer back; it is never lent when it is held here. */
export function releaseRelayBuffer(socket: net.Socket): void {
  if ((socket as RelaySocket)[kOwnBuffer] !== undefined) releaseOwnBuffer(socket as RelaySocket);
}

function releaseOwnBuffer(socket: RelaySocket): void {
  const own = socket[kOwnBuffer]!;
  socket[kOwnBuffer] = undefined;
  if (freeList.length < FREE_LIST_LIMIT) freeList.push(own);
}
