/**
 * Finds, reads and parses config.yaml, then validates it. Everything here is synchronous: it runs
 * once, before anything listens, and the caller exits on the first ConfigError.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from './config-error';
import { substituteEnvironmentVariables, type Environment } from './environment-variables';
import type { ConfigOrigin, StraitConfig } from './strait-config';
import { validateConfig } from './validate-config';

export const CONFIG_ENV_VAR = 'STRAIT_CONFIG';
export const DEFAULT_CONFIG_RELATIVE_PATH = 'conf/config.yaml';

/**
 * The repository root seen from this file: apps/api/dist/config (compiled) or apps/api/src/config
 * (sources) are both four levels below it.
 */
export const DEFAULT_REPO_ROOT = resolve(__dirname, '../../../..');

export interface ConfigLocation {
  /** Absolute path of the file to read. */
  readonly path: string;
  readonly origin: ConfigOrigin;
  /**
   * Directory relative paths inside the file resolve against: the directory the default file was
   * found under, or the working directory for a path given on the command line or in the env.
   */
  readonly homeDir: string;
  /** Every path that was considered (for the "not found" message). */
  readonly candidates: readonly string[];
}

export interface ResolveConfigOptions {
  readonly cwd?: string;
  readonly repoRoot?: string;
  /** Injected by tests. */
  readonly exists?: (path: string) => boolean;
}

/**
 * Picks the config file: `--config <path>` / `--config=<path>` / `-c <path>` in `argv` (either
 * `process.argv` or its tail; other arguments are left alone), else `STRAIT_CONFIG`, else
 * `conf/config.yaml` under the working directory, else under the repository root.
 */
export function resolveConfigLocation(
  argv: readonly string[],
  env: Environment,
  options: ResolveConfigOptions = {},
): ConfigLocation {
  const cwd = options.cwd ?? process.cwd();
  const repoRoot = options.repoRoot ?? DEFAULT_REPO_ROOT;
  const exists = options.exists ?? existsSync;

  const fromArgv = configArgument(argv);
  if (fromArgv !== undefined) {
    const path = resolve(cwd, fromArgv);
    return { path, origin: 'argv', homeDir: cwd, candidates: [path] };
  }
  const fromEnv = env[CONFIG_ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') {
    const path = resolve(cwd, fromEnv);
    return { path, origin: 'env', homeDir: cwd, candidates: [path] };
  }
  const inCwd = resolve(cwd, DEFAULT_CONFIG_RELATIVE_PATH);
  const inRepo = resolve(repoRoot, DEFAULT_CONFIG_RELATIVE_PATH);
  const candidates = inCwd === inRepo ? [inCwd] : [inCwd, inRepo];
  if (exists(inCwd) || inCwd === inRepo) {
    return { path: inCwd, origin: 'default', homeDir: cwd, candidates };
  }
  return { path: inRepo, origin: 'default', homeDir: repoRoot, candidates };
}

function configArgument(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--') break;
    let value: string | undefined;
    let option: string;
    if (argument === '--config' || argument === '-c') {
      option = argument;
      value = argv[index + 1];
      index++;
    } else if (argument.startsWith('--config=')) {
      option = '--config';
      value = argument.slice('--config='.length);
    } else {
      continue;
    }
    if (value === undefined || value === '' || value.startsWith('-')) {
      throw new ConfigError(option, 'needs a file path (--config /path/to/config.yaml)');
    }
    // The last one wins, as with most command-line tools.
    found = value;
  }
  return found;
}

export interface LoadConfigOptions extends ResolveConfigOptions {
  /** Defaults to `process.argv`. */
  readonly argv?: readonly string[];
  /** Defaults to `process.env`; also the source of `${{NAME}}` references. */
  readonly env?: Environment;
}

/** Resolves, reads, parses and validates the service configuration. Throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): StraitConfig {
  const env = options.env ?? process.env;
  const location = resolveConfigLocation(options.argv ?? process.argv, env, options);
  const text = readConfigText(location);
  return parseConfigText(text, {
    file: location.path,
    homeDir: location.homeDir,
    origin: location.origin,
    env,
  });
}

export function readConfigText(location: ConfigLocation): string {
  try {
    return readFileSync(location.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const looked =
        location.origin === 'default'
          ? `looked for ${location.candidates.join(' and ')}; pass --config <file> or set ${CONFIG_ENV_VAR}`
          : `given by ${location.origin === 'argv' ? '--config' : CONFIG_ENV_VAR}`;
      throw new ConfigError(location.path, `config file not found (${looked})`, {
        file: location.path,
      });
    }
    if (code === 'EISDIR') {
      throw new ConfigError(location.path, 'is a directory, not a config file', {
        file: location.path,
      });
    }
    throw new ConfigError(location.path, `cannot read config file: ${(error as Error).message}`, {
      file: location.path,
    });
  }
}

export interface ParseConfigOptions {
  readonly homeDir: string;
  readonly file?: string;
  readonly origin?: ConfigOrigin;
  readonly env?: Environment;
}

/** Parses YAML text and validates it; errors carry the file and, when found, line and column. */
export function parseConfigText(text: string, options: ParseConfigOptions): StraitConfig {
  const file = options.file ?? 'config.yaml';
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema (yes/no/on/off are strings); merge keys (<<) as libyaml users expect.
  const document = parseDocument(text, {
    lineCounter,
    prettyErrors: true,
    merge: true,
    uniqueKeys: true,
  });
  const [syntaxError] = document.errors;
  if (syntaxError) {
    const position = syntaxError.linePos?.[0];
    const summary = syntaxError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(file, `YAML syntax error: ${summary}`, {
      file,
      line: position?.line,
      column: position?.col,
    });
  }
  substituteEnvironmentVariables(document, options.env ?? process.env, { file, lineCounter });

  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(file, `YAML error: ${(error as Error).message}`, { file });
  }
  try {
    return validateConfig(raw, {
      homeDir: options.homeDir,
      file: options.file,
      origin: options.origin,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const position = locateKey(document, lineCounter, error.key);
    throw error.withLocation({ file, line: position?.line, column: position?.col });
  }
}

/** Line and column of the YAML node behind a dotted key (best effort: keys with dots are not found). */
export function locateKey(
  document: Document,
  lineCounter: LineCounter,
  key: string,
): { line: number; col: number } | undefined {
  const segments = [...key.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) =>
    match[2] === undefined ? match[1] : Number(match[2]),
  );
  let node: unknown = document.contents;
  let offset: number | undefined;
  for (const segment of segments) {
    if (isMap(node) && typeof segment === 'string') {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === segment,
      );
      if (!pair) break;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
