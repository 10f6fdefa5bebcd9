export { configSchema, defaultDataDir, HOST_PORT_PATTERN, type GhostConfig, type GhostConfigInput } from './schema.js';
export { ConfigError, formatIssue, formatSource, type ConfigErrorCode, type ConfigIssue, type ConfigSource } from './errors.js';
export {
  CONFIG_FILE_ENV,
  formatHostPort,
  loadConfig,
  parseConfig,
  parseHostPort,
  type LoadConfigOptions,
} from './load.js';
export { envNameFor, listConfigKeys, toUpperSnake, type ConfigKey, type ConfigValueKind } from './keys.js';
export { describeConfig, formatConfig, MASK, maskSecretsInString, maskUrl, type DescribedValue } from './mask.js';
export { configKeysMarkdown } from './markdown.js';
