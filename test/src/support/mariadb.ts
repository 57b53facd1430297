import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from './ports';

export const MARIADB_ROOT_PASSWORD = 'toor';

/**
 * A private MariaDB server for one test file: its own data directory, socket and loopback port,
 * never the system service. Needs the mariadb-server package (.ci/run installs it).
 */
export class MariaDbServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  static available(): boolean {
    return existsSync('/usr/sbin/mariadbd') && existsSync('/usr/bin/mariadb-install-db');
  }

  static async start(): Promise<MariaDbServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'strait-mariadb-'));
    const install = spawnSync(
      '/usr/bin/mariadb-install-db',
      [
        `--datadir=${dataDir}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
    const port = await freeTcpPort();
    const child = spawn(
      '/usr/sbin/mariadbd',
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${join(dataDir, 'mysqld.sock')}`,
        `--pid-file=${join(dataDir, 'mysqld.pid')}`,
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        '--user=root',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=16M',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new MariaDbServer(child, port, dataDir);
    await server.waitUntilReady(30_000);
    const setPassword = server.sql(
      `ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}'; ` +
        `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ` +
        `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}'; ` +
        `GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;`,
      { socket: true, password: null },
    );
    if (setPassword.status !== 0)
      throw new Error(`cannot set the root password: ${setPassword.stderr}`);
    return server;
  }

  /** Runs the real `mysql` client, over the socket or over TCP to `host:port`. */
  sql(
    statement: string,
    options: {
      socket?: boolean;
      host?: string;
      port?: number;
      password?: string | null;
      timeoutMs?: number;
    } = {},
  ) {
    const args = ['--batch', '--skip-column-names', '-u', 'root', '--connect-timeout=5'];
    const password = options.password === undefined ? MARIADB_ROOT_PASSWORD : options.password;
    if (password !== null) args.push(`--password=${password}`);
    if (options.socket) args.push(`--socket=${join(this.dataDir, 'mysqld.sock')}`);
    else
      args.push(
        '--protocol=TCP',
        `--host=${options.host ?? '127.0.0.1'}`,
        `--port=${options.port ?? this.port}`,
      );
    args.push('-e', statement);
    return spawnSync('/usr/bin/mysql', args, {
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 15_000,
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error('mariadbd exited during startup');
      const probe = this.sql('SELECT 1', { socket: true, password: null, timeoutMs: 5000 });
      if (probe.status === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('mariadbd did not become ready in time');
  }
}
