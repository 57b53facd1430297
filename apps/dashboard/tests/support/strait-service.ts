import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest directory above this file that holds nx.json. */
export const REPO_ROOT = (() => {
  let directory = __dirname;
  while (!existsSync(join(directory, 'nx.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('nx.json not found above the e2e build');
    directory = parent;
  }
  return directory;
})();

export const SERVICE_ENTRY = join(REPO_ROOT, 'apps/api/dist/main.js');
export const DASHBOARD_BUILD = join(REPO_ROOT, 'apps/dashboard/out/index.html');
export const ADMIN_KEY = 'dashboard-e2e-admin-0f6c1b7a';
export const VIEWER_KEY = 'dashboard-e2e-viewer-5d2e9a44';

/** A port that was free a moment ago (the config file needs concrete numbers). */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolveListen);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolveClose) => server.close(resolveClose));
  return port;
}

/** The built service as a user starts it, on ephemeral ports and a temp SQLite file. */
export class StraitService {
  readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly dashboardUrl: string,
    readonly streamPort: number,
    /** A second TCP listener that no route uses: connections to it are closed at once. */
    readonly spareStreamPort: number,
    readonly dataDir: string,
  ) {
    this.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    const collect = (chunk: Buffer) =>
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  static async start(): Promise<StraitService> {
    for (const [path, hint] of [
      [SERVICE_ENTRY, 'npx tsc -b apps/api libs/proxy'],
      [DASHBOARD_BUILD, 'npx nx run dashboard:build'],
    ]) {
      if (!existsSync(path)) throw new Error(`${path} is missing: run \`${hint}\` first`);
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'strait-dashboard-e2e-'));
    const [adminPort, dashboardPort, streamPort, spareStreamPort] = [
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
    ];
    const config = [
      'apisix:',
      '  stream_proxy:',
      `    tcp: ['127.0.0.1:${streamPort}', '127.0.0.1:${spareStreamPort}']`,
      'deployment:',
      '  admin:',
      '    admin_key:',
      `      - { name: admin, key: ${ADMIN_KEY}, role: admin }`,
      `      - { name: viewer, key: ${VIEWER_KEY}, role: viewer }`,
      `    admin_listen: { ip: 127.0.0.1, port: ${adminPort} }`,
      'strait:',
      `  dashboard: { listen: { ip: 127.0.0.1, port: ${dashboardPort} } }`,
      `  database: { type: sqlite, path: ${join(dataDir, 'strait.db')} }`,
      '  log: { level: info }',
      // Two data-plane worker processes: every page then works on the answers the API process
      // merges from its workers (connections, traffic, health, match).
      '  workers: 2',
      '',
    ].join('\n');
    const configPath = join(dataDir, 'config.yaml');
    writeFileSync(configPath, config);
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', SERVICE_ENTRY, '--config', configPath],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const service = new StraitService(
      child,
      `http://127.0.0.1:${dashboardPort}`,
      streamPort,
      spareStreamPort,
      dataDir,
    );
    await service.waitForOutput('dashboard listening', 20_000);
    return service;
  }

  async waitForOutput(text: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.output.find((candidate) => candidate.includes(text));
      if (line) return line;
      if (this.child.exitCode !== null) {
        throw new Error(
          `strait exited with ${this.child.exitCode} before "${text}":\n${this.output.join('\n')}`,
        );
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 25));
    }
    throw new Error(
      `strait did not print "${text}" within ${timeoutMs} ms:\n${this.output.join('\n')}`,
    );
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** A self-signed certificate made with the openssl CLI, as an operator would. */
export function makeCertificate(
  directory: string,
  commonName: string,
  altNames: string[],
  days: number,
) {
  const certPath = join(directory, `${commonName}.crt`);
  const keyPath = join(directory, `${commonName}.key`);
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      String(days),
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      `subjectAltName=${altNames.map((name) => `DNS:${name}`).join(',')}`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return { certPath, keyPath };
}

export function resolveInRepo(...segments: string[]): string {
  return resolve(REPO_ROOT, ...segments);
}
