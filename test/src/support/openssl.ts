import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from './ports';
import { stopChild } from './programs';
import { waitFor } from './wait';

/** A PEM pair on disk and in memory (the admin API wants the text, openssl wants the files). */
export interface Credential {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 15_000 });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

function load(dir: string, name: string): Credential {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  return {
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    certPath,
    keyPath,
  };
}

/**
 * A throwaway PKI made with the real openssl CLI (P-256 keys, 3-day validity): CAs, server
 * certificates with DNS SANs, client certificates for mTLS.
 */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'strait-pki-'));
  private serial = 1;

  createCa(name: string): Credential {
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '3',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      this.dir,
    );
    return load(this.dir, name);
  }

  /** A leaf signed by `ca`: server certificates get DNS SANs, client ones clientAuth. */
  issue(
    ca: Credential,
    name: string,
    options: { dnsNames?: string[]; client?: boolean } = {},
  ): Credential {
    const file = name.replace(/[^a-zA-Z0-9.-]/g, '_');
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${file}.key`,
        '-out',
        `${file}.csr`,
        '-subj',
        `/CN=${name}`,
      ],
      this.dir,
    );
    const extensions = options.client
      ? ['extendedKeyUsage=clientAuth']
      : [
          'extendedKeyUsage=serverAuth',
          `subjectAltName=${(options.dnsNames ?? [name]).map((dns) => `DNS:${dns}`).join(',')}`,
        ];
    writeFileSync(join(this.dir, `${file}.ext`), extensions.join('\n') + '\n');
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${file}.csr`,
        '-CA',
        ca.certPath,
        '-CAkey',
        ca.keyPath,
        '-set_serial',
        String(this.serial++),
        '-days',
        '3',
        '-out',
        `${file}.crt`,
        '-extfile',
        `${file}.ext`,
      ],
      this.dir,
    );
    return load(this.dir, file);
  }
}

export interface SClientResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** `Verify return code: N` of the session summary, if the handshake got that far. */
  verifyCode?: number;
  /** True when `expect` arrived from the server. */
  gotExpected: boolean;
  ms: number;
}

/**
 * The real `openssl s_client`: connects, sends `send`, keeps stdin open until `expect` has
 * arrived (or the server closed, or the deadline), then ends stdin so it closes cleanly.
 */
export function sClient(
  port: number,
  options: {
    servername?: string;
    noServername?: boolean;
    caFile?: string;
    verifyHostname?: string;
    cert?: Credential;
    send?: string;
    expect?: string;
    timeoutMs?: number;
    extraArgs?: string[];
  },
): Promise<SClientResult> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`];
  if (options.noServername) args.push('-noservername');
  else if (options.servername) args.push('-servername', options.servername);
  if (options.caFile) args.push('-CAfile', options.caFile, '-verify_return_error');
  if (options.verifyHostname) args.push('-verify_hostname', options.verifyHostname);
  if (options.cert) args.push('-cert', options.cert.certPath, '-key', options.cert.keyPath);
  args.push(...(options.extraArgs ?? []));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let gotExpected = false;
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!gotExpected && options.expect && stdout.includes(options.expect)) {
        gotExpected = true;
        child.stdin.end();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (options.send) child.stdin.write(options.send);
    if (!options.expect) child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const verify = /Verify return code: (\d+)/.exec(stdout);
      resolve({
        code,
        stdout,
        stderr,
        verifyCode: verify ? Number(verify[1]) : undefined,
        gotExpected,
        ms: Date.now() - started,
      });
    });
  });
}

/**
 * The real `openssl s_server -rev` (answers every line reversed) as a `scheme: tls` upstream,
 * with -tlsextdebug so the SNI each client sent can be read back from its output.
 */
export class SServer {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  static async start(credential: Credential): Promise<SServer> {
    const port = await freeTcpPort();
    const child = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        `127.0.0.1:${port}`,
        '-cert',
        credential.certPath,
        '-key',
        credential.keyPath,
        '-rev',
        '-tlsextdebug',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const server = new SServer(child, port);
    await waitFor(() => server.output.includes('ACCEPT'), 10_000, 'openssl s_server to listen', 20);
    return server;
  }

  /**
   * The server names clients sent, in order, decoded from the hex dump -tlsextdebug prints for
   * the server_name extension: list length (2), type 0 (1), name length (2), name.
   */
  serverNames(): string[] {
    const names: string[] = [];
    const lines = this.output.split('\n');
    for (let index = 0; index < lines.length; index += 1) {
      if (!lines[index].includes('TLS client extension "server name"')) continue;
      const bytes: number[] = [];
      for (let next = index + 1; next < lines.length; next += 1) {
        const dump = /^\s*[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]{1,2})+)/i.exec(lines[next]);
        if (!dump) break;
        for (const hex of dump[1].trim().split(/[ -]+/)) bytes.push(parseInt(hex, 16));
      }
      const length = (bytes[3] << 8) | bytes[4];
      names.push(Buffer.from(bytes.slice(5, 5 + length)).toString('latin1'));
    }
    return names;
  }

  get log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}
