import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from './ports';
import { programsAvailable, runProgram, stopChild, type ProgramResult } from './programs';
import { waitFor } from './wait';

/**
 * A private redis-server on a loopback port with its own directory, no persistence, never the
 * system service. Needs redis-server and redis-tools (.ci/run installs them).
 */
export class RedisServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dir: string,
  ) {}

  static available(): boolean {
    return programsAvailable('redis-server', 'redis-cli', 'redis-benchmark');
  }

  static async start(): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'strait-redis-'));
    const port = await freeTcpPort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--maxclients',
        '4000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.resume();
    child.stderr?.resume();
    const server = new RedisServer(child, port, dir);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error('redis-server exited during startup');
        return (await server.cli(['PING'], port)).stdout.trim() === 'PONG';
      },
      10_000,
      'redis-server to answer PING',
      100,
    );
    return server;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The real redis-cli against `port` (the proxy's, or the server's own by default). */
  cli(args: string[], port = this.port, timeoutMs = 10_000): Promise<ProgramResult> {
    return runProgram('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      timeoutMs,
    });
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

export interface BenchmarkLine {
  test: string;
  requestsPerSecond: number;
}

/** Parses `redis-benchmark --csv` output: `"test","rps",...` lines after a header. */
export function parseBenchmarkCsv(stdout: string): BenchmarkLine[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('"') && !line.startsWith('"test"'))
    .map((line) => {
      const cells = line.split(',').map((cell) => cell.replace(/^"|"$/g, ''));
      return { test: cells[0], requestsPerSecond: Number(cells[1]) };
    });
}
