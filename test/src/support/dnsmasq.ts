import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freeTcpPort, freeUdpPort } from './ports';
import { programPath, runProgram, stopChild, type ProgramResult } from './programs';
import { waitFor } from './wait';

/**
 * A private dnsmasq answering fixed names on a loopback port, in the foreground, with no
 * upstream resolvers and no /etc/hosts: never the system resolver, never port 53. Needs the
 * dnsmasq-base package (the binary without a system service; .ci/run installs it) and dig.
 */
export class DnsmasqServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static available(): boolean {
    return programPath('dnsmasq') !== undefined && programPath('dig') !== undefined;
  }

  /** `addresses`: domain → IPv4 answer (dnsmasq's `--address=/domain/ip`, subdomains included). */
  static async start(addresses: Record<string, string>): Promise<DnsmasqServer> {
    // dnsmasq binds the port for UDP and TCP: a port free for UDP may be taken for TCP, so a
    // bind failure is retried on another port (bounded).
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        return await DnsmasqServer.startOnce(addresses, await freeUdpAndTcpPort());
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  private static async startOnce(
    addresses: Record<string, string>,
    port: number,
  ): Promise<DnsmasqServer> {
    const dir = mkdtempSync(join(tmpdir(), 'strait-dnsmasq-'));
    const child = spawn(
      programPath('dnsmasq') as string,
      [
        '--no-daemon',
        '--conf-file=/dev/null',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        '--user=root',
        '--cache-size=1000',
        `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        ...Object.entries(addresses).map(([domain, ip]) => `--address=/${domain}/${ip}`),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const server = new DnsmasqServer(child, port);
    const [probeName, probeIp] = Object.entries(addresses)[0];
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`dnsmasq exited during startup: ${output}`);
        return (await dig(port, probeName)).stdout.trim() === probeIp;
      },
      10_000,
      'dnsmasq to answer',
      100,
    ).catch(async (error: unknown) => {
      await stopChild(child);
      throw error;
    });
    return server;
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

/**
 * The real dig, one try, short timeout: a lost datagram shows as a missing answer instead of
 * being hidden by dig's own retries. `+short` prints just the A records.
 */
export function dig(port: number, name: string, host = '127.0.0.1'): Promise<ProgramResult> {
  return runProgram(
    'dig',
    [`@${host}`, '-p', String(port), '+short', '+tries=1', '+timeout=2', name, 'A'],
    { timeoutMs: 10_000 },
  );
}

export interface DigAnswer {
  name: string;
  address: string;
}

/**
 * `dig -f`: many queries from one process, one after another, each with one try and a 5 s
 * timeout (long enough that only a lost datagram fails, not a busy machine). `+noall +answer` prints one line per A record with its owner name, so every answer
 * can be matched to its query (a lost query prints a `;;` error line instead of an answer).
 *
 * Give concurrent batches different `source` addresses (127.0.0.2, .3, …): dig's UDP sockets
 * allow port sharing, so two dig processes on one address can draw the same random source port
 * at the same moment, and the kernel then hands both replies to one of them (one "ID mismatch",
 * one lost query), whatever sits in between.
 */
export async function digBatch(
  port: number,
  names: string[],
  options: { host?: string; source?: string } = {},
): Promise<{ answers: DigAnswer[]; errors: string[]; queryMs: number[]; result: ProgramResult }> {
  const file = join(mkdtempSync(join(tmpdir(), 'strait-dig-')), 'queries');
  writeFileSync(file, names.map((name) => `${name} A`).join('\n') + '\n');
  const result = await runProgram(
    'dig',
    [
      `@${options.host ?? '127.0.0.1'}`,
      '-p',
      String(port),
      ...(options.source ? ['-b', options.source] : []),
      '+noall',
      '+answer',
      '+stats',
      '+tries=1',
      '+timeout=5',
      '-f',
      file,
    ],
    { timeoutMs: 10_000 + names.length * 100 },
  );
  const lines = result.stdout.split('\n').map((line) => line.trim());
  const answers = lines
    .map((line) => /^(\S+?)\.?\s+\d+\s+IN\s+A\s+(\S+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ name: match[1], address: match[2] }));
  const queryMs = lines
    .map((line) => /^;; Query time: (\d+) msec/.exec(line)?.[1])
    .filter((time): time is string => time !== undefined)
    .map(Number);
  const errors = lines.filter(
    (line) => line.startsWith(';;') && !/^;; (Query time|SERVER|WHEN|MSG SIZE)/.test(line),
  );
  return { answers, errors, queryMs, result };
}

/**
 * How many of `names` (asked in this order) got their expected address, in order: a lost or
 * wrong answer counts once and does not shift the others.
 */
export function countAnswered(
  names: string[],
  answers: DigAnswer[],
  expected: Record<string, string>,
): { answered: number; lost: number } {
  let next = 0;
  let answered = 0;
  for (const name of names) {
    const index = answers.findIndex((answer, at) => at >= next && answer.name === name);
    if (index >= 0 && answers[index].address === expected[name]) {
      answered += 1;
      next = index + 1;
    }
  }
  return { answered, lost: names.length - answered };
}

/** A loopback port free for both UDP and TCP right now (bounded attempts). */
async function freeUdpAndTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await freeUdpPort();
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
  return freeTcpPort();
}
