export { ConfigError } from './config-error';
export {
  CONFIG_ENV_VAR,
  DEFAULT_CONFIG_RELATIVE_PATH,
  DEFAULT_REPO_ROOT,
  loadConfig,
  parseConfigText,
  readConfigText,
  resolveConfigLocation,
  type ConfigLocation,
  type LoadConfigOptions,
  type ParseConfigOptions,
  type ResolveConfigOptions,
} from './config-file';
export type { Environment } from './environment-variables';
export { parseListenAddress, type ParsedListenAddress } from './listener-entries';
export {
  DEFAULT_ALLOW_ADMIN,
  DEFAULT_KEYRING,
  DEFAULT_STREAM_PLUGINS,
  DEFAULTS,
  resolveStreamEnabled,
  type AdminConfig,
  type AdminKey,
  type AdminRole,
  type ConfigOrigin,
  type DashboardConfig,
  type DatabaseConfig,
  type DataEncryptionConfig,
  type ListenAddress,
  type ListenerEntry,
  type LogLevel,
  type PrometheusConfig,
  type ProxyMode,
  type StraitConfig,
} from './strait-config';
export { validateConfig, type ValidateConfigOptions } from './validate-config';
