import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freeTcpPort } from './ports';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const SERVICE_ENTRY = join(REPO_ROOT, 'apps/api/dist/main.js');
export const ADMIN_KEY = 'edd1c9f034335f136f87ad84b625c8f1';
export const VIEWER_KEY = '4054f7cf07e344346cd3f287985e76a2';

export interface StraitOptions {
  /** YAML placed under `apisix:` (stream_proxy etc.), written verbatim. */
  apisixYaml?: string;
  /** Extra YAML placed under `deployment.admin:` (allow_admin etc.). */
  adminYaml?: string;
  /** Extra YAML lines under `strait:`, written verbatim (indent them by two spaces). */
  straitYaml?: string;
  /** Extra top-level YAML (deployment overrides, strait section additions). */
  extraYaml?: string;
  /** Leave `deployment.admin.admin_key` out, so the service generates its own key. */
  withoutAdminKeys?: boolean;
  /** Replace the whole config file (then ports and database are the caller's business). */
  rawConfig?: string;
  /** Reuse a data directory, e.g. to restart on the same database. */
  dataDir?: string;
  /** Wait for the admin API (false for configs with enable_admin: false). */
  waitForAdmin?: boolean;
  /** Extra environment variables for the service (e.g. NODE_EXTRA_CA_CERTS). */
  env?: Record<string, string>;
}

/** A config file for the harness's options, with fresh admin and dashboard ports. */
export async function buildConfig(
  options: StraitOptions,
  dataDir: string,
): Promise<{ text: string; adminPort: number; dashboardPort: number }> {
  const adminPort = await freeTcpPort();
  const dashboardPort = await freeTcpPort();
  const keys = options.withoutAdminKeys
    ? []
    : [
        '    admin_key:',
        `      - { name: admin, key: ${ADMIN_KEY}, role: admin }`,
        `      - { name: viewer, key: ${VIEWER_KEY}, role: viewer }`,
      ];
  const text =
    options.rawConfig ??
    [
      'apisix:',
      indent(options.apisixYaml ?? ''),
      'deployment:',
      '  admin:',
      ...keys,
      `    admin_listen: { ip: 127.0.0.1, port: ${adminPort} }`,
      indent(indent(options.adminYaml ?? '')),
      'strait:',
      `  dashboard: { listen: { ip: 127.0.0.1, port: ${dashboardPort} } }`,
      `  database: { type: sqlite, path: ${join(dataDir, 'strait.db')} }`,
      '  log: { level: info }',
      options.straitYaml ?? '',
      options.extraYaml ?? '',
    ].join('\n');
  return { text, adminPort, dashboardPort };
}

/** The built service running as a child process, as a user would start it. */
export class StraitProcess {
  readonly output: string[] = [];
  private exited?: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly adminUrl: string,
    readonly dashboardUrl: string,
    readonly dataDir: string,
    readonly configPath: string,
  ) {}

  static async start(options: StraitOptions = {}): Promise<StraitProcess> {
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'strait-e2e-'));
    const { text, adminPort, dashboardPort } = await buildConfig(options, dataDir);
    const configPath = join(dataDir, `config-${Date.now()}.yaml`);
    writeFileSync(configPath, text);
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', SERVICE_ENTRY, '--config', configPath],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...options.env },
      },
    );
    const instance = new StraitProcess(
      child,
      `http://127.0.0.1:${adminPort}`,
      `http://127.0.0.1:${dashboardPort}`,
      dataDir,
      configPath,
    );
    instance.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    // Lines may arrive split across chunks; keep the unfinished tail until its newline.
    let partial = '';
    const collect = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      instance.output.push(...lines.filter(Boolean));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const readyLine =
      options.waitForAdmin === false ? 'stream listener open' : 'admin API listening';
    await instance.waitForOutput(readyLine, 20_000);
    return instance;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves when a line containing `text` has been printed; rejects on exit or deadline. */
  async waitForOutput(text: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.output.find((candidate) => candidate.includes(text));
      if (line) return line;
      if (this.child.exitCode !== null) {
        throw new Error(
          `strait exited with ${this.child.exitCode} before printing "${text}":\n${this.output.join('\n')}`,
        );
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    }
    throw new Error(
      `strait did not print "${text}" within ${timeoutMs} ms:\n${this.output.join('\n')}`,
    );
  }

  /** The exit code once the process has ended on its own (null after a signal). */
  async waitForExit(timeoutMs = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`strait did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited as Promise<number | null>, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code ?? null;
  }
}

/** Runs the service with a config and returns its exit code and output (for config-error tests). */
export async function runToExit(
  configText: string,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
  const configPath = join(dataDir, 'config.yaml');
  writeFileSync(configPath, configText);
  const child = spawn(process.execPath, [SERVICE_ENTRY, '--config', configPath], {
    cwd: REPO_ROOT,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolveExit) =>
    child.once('exit', (exitCode) => resolveExit(exitCode)),
  );
  clearTimeout(timer);
  return { code, output };
}

function indent(yaml: string): string {
  return yaml
    .split('\n')
    .map((line) => (line.trim() === '' ? line : `  ${line}`))
    .join('\n');
}
