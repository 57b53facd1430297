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
  /** Extra top-level YAML (deployment overrides, strait section additions). */
  extraYaml?: string;
  /** Replace the whole config file (then ports and database are the caller's business). */
  rawConfig?: string;
  /** Reuse a data directory, e.g. to restart on the same database. */
  dataDir?: string;
  /** Wait for the admin API (false for configs with enable_admin: false). */
  waitForAdmin?: boolean;
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
    const adminPort = await freeTcpPort();
    const dashboardPort = await freeTcpPort();
    const config =
      options.rawConfig ??
      [
        'apisix:',
        indent(options.apisixYaml ?? ''),
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
        options.extraYaml ?? '',
      ].join('\n');
    const configPath = join(dataDir, `config-${Date.now()}.yaml`);
    writeFileSync(configPath, config);
    const child = spawn(process.execPath, ['--enable-source-maps', SERVICE_ENTRY, '--config', configPath], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new StraitProcess(
      child,
      `http://127.0.0.1:${adminPort}`,
      `http://127.0.0.1:${dashboardPort}`,
      dataDir,
      configPath,
    );
    instance.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    const collect = (chunk: Buffer) => instance.output.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const readyLine = options.waitForAdmin === false ? 'stream listener open' : 'admin API listening';
    await instance.waitForOutput(readyLine, 20_000);
    return instance;
  }

  /** Resolves when a line containing `text` has been printed; rejects on exit or deadline. */
  async waitForOutput(text: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.output.find((candidate) => candidate.includes(text));
      if (line) return line;
      if (this.child.exitCode !== null) {
        throw new Error(`strait exited with ${this.child.exitCode} before printing "${text}":\n${this.output.join('\n')}`);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    }
    throw new Error(`strait did not print "${text}" within ${timeoutMs} ms:\n${this.output.join('\n')}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code ?? null;
  }
}

/** Runs the service with a config and returns its exit code and output (for config-error tests). */
export async function runToExit(configText: string, timeoutMs = 15_000): Promise<{ code: number | null; output: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
  const configPath = join(dataDir, 'config.yaml');
  writeFileSync(configPath, configText);
  const child = spawn(process.execPath, [SERVICE_ENTRY, '--config', configPath], { cwd: REPO_ROOT });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', (exitCode) => resolveExit(exitCode)));
  clearTimeout(timer);
  return { code, output };
}

function indent(yaml: string): string {
  return yaml
    .split('\n')
    .map((line) => (line.trim() === '' ? line : `  ${line}`))
    .join('\n');
}
