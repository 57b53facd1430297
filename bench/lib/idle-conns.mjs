// Child process of the benchmark (pinned to the load core): the upstream for idle connections and
// the client that opens them. It listens on 127.0.0.1:<sinkPort> and takes one JSON command per
// stdin line, answering with one JSON line on stdout:
//   {"cmd":"open","port":P,"count":N,"timeoutMs":T} opens N TCP connections to 127.0.0.1:P (at most
//       256 connecting at once) and answers once they are connected and the sink has accepted as
//       many (or at the deadline);
//   {"cmd":"close"} closes them and answers once the sink has seen them all close;
// It exits when stdin ends. Every connection stays idle: no byte is sent either way.
import net from 'node:net';
import readline from 'node:readline';

const sinkPort = Number(process.argv[2]);
const accepted = new Set();
const clients = [];

const sink = net.createServer({ allowHalfOpen: false }, (socket) => {
  accepted.add(socket);
  socket.on('error', () => {});
  socket.on('close', () => accepted.delete(socket));
});
sink.maxConnections = 19_000;
sink.listen({ port: sinkPort, host: '127.0.0.1', backlog: 4096 }, () => reply({ ready: true }));

function reply(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function open(port, count, timeoutMs) {
  const begin = Date.now();
  const deadline = begin + timeoutMs;
  const baseline = accepted.size;
  let connected = 0;
  let failed = 0;
  let next = 0;
  let errorSample;
  await new Promise((resolve) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < 256 && next < count && Date.now() < deadline) {
        next++;
        inFlight++;
        const socket = net.connect({ port, host: '127.0.0.1' });
        let settled = false;
        socket.once('connect', () => {
          settled = true;
          connected++;
          inFlight--;
          clients.push(socket);
          pump();
        });
        socket.on('error', (error) => {
          errorSample ??= error.code ?? error.message;
          if (!settled) {
            settled = true;
            failed++;
            inFlight--;
            pump();
          }
        });
      }
      if (inFlight === 0) resolve();
    };
    pump();
    setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
  });
  // The proxy connects upstream after accepting; wait for the sink to see every connection.
  while (accepted.size - baseline < connected && Date.now() < deadline) await sleep(20);
  // Connections the proxy closed right after accepting are not idle connections.
  const alive = clients.filter(
    (socket) => !socket.destroyed && socket.readyState === 'open',
  ).length;
  reply({
    connected,
    alive,
    failed,
    accepted: accepted.size - baseline,
    ms: Date.now() - begin,
    error: errorSample,
  });
}

async function closeAll(timeoutMs) {
  const begin = Date.now();
  for (const socket of clients.splice(0)) socket.destroy();
  const deadline = begin + timeoutMs;
  while (accepted.size > 0 && Date.now() < deadline) await sleep(20);
  reply({ closed: true, remaining: accepted.size, ms: Date.now() - begin });
}

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    return reply({ error: 'bad command' });
  }
  queue = queue.then(() => {
    if (command.cmd === 'open')
      return open(command.port, command.count, command.timeoutMs ?? 30_000);
    if (command.cmd === 'close') return closeAll(command.timeoutMs ?? 15_000);
    if (command.cmd === 'count') return reply({ accepted: accepted.size, clients: clients.length });
    return reply({ error: `unknown command ${command.cmd}` });
  });
});
lines.on('close', () => {
  for (const socket of clients) socket.destroy();
  for (const socket of accepted) socket.destroy();
  sink.close();
  setTimeout(() => process.exit(0), 100).unref();
});
