/**
 * The one error type of configuration loading. The service prints it and exits non-zero before
 * anything listens, so every instance says where (`key`, and `file`/`line`/`column` when known)
 * and why (`reason`). Tests assert on `code`, `key` and `reason`, not on the composed message.
 */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  /**
   * Dotted key path with list indexes (`deployment.admin.admin_key[0].role`). For errors about the
   * file itself (missing, unreadable, not YAML) it is the file path, and for command-line problems
   * the option (`--config`).
   */
  readonly key: string;
  readonly reason: string;
  /** Absolute path of the config file, once known. */
  readonly file?: string;
  /** 1-based position in the file, when the YAML source of the key could be found. */
  readonly line?: number;
  readonly column?: number;

  constructor(
    key: string,
    reason: string,
    location: { file?: string; line?: number; column?: number } = {},
  ) {
    super(formatMessage(key, reason, location));
    this.name = 'ConfigError';
    this.key = key;
    this.reason = reason;
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
  }

  /** The same error, placed in a file (and at a line, when the key's YAML node was found). */
  withLocation(location: { file?: string; line?: number; column?: number }): ConfigError {
    return new ConfigError(this.key, this.reason, {
      file: location.file ?? this.file,
      line: location.line ?? this.line,
      column: location.column ?? this.column,
    });
  }
}

function formatMessage(
  key: string,
  reason: string,
  location: { file?: string; line?: number; column?: number },
): string {
  if (location.line === undefined) return `${key}: ${reason}`;
  const position = `${location.line}${location.column === undefined ? '' : `:${location.column}`}`;
  // Errors about the file itself are keyed by the file: print it once, compiler style.
  if (key === location.file) return `${key}:${position}: ${reason}`;
  return `${key}: ${reason} (${location.file ?? 'config'}:${position})`;
}
