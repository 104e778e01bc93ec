import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usageError } from './errors.js';

/**
 * Optional config file with per-command defaults, e.g.
 *   { "aws": { "profile": "prod", "region": "eu-west-1" },
 *     "ecs": { "cluster": "main" }, "cognito": { "userPoolId": "eu-west-1_abc" },
 *     "cert": { "email": "ops@example.com" }, "pg": { "db": "postgres://…" } }
 * Precedence, decided only here: flags > environment (OPSCTL_<SECTION>_<KEY>) > config file > defaults.
 */
export type ConfigValue = string | number | boolean | string[] | null;
export type ConfigSection = Record<string, ConfigValue>;
export type ConfigFile = Record<string, ConfigSection>;

export interface LoadedConfig {
  path: string;
  /** Whether the file existed. */
  found: boolean;
  data: ConfigFile;
}

export function configHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config'), 'opsctl');
}

export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.local', 'state'), 'opsctl');
}

export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { path: string; explicit: boolean } {
  if (flag) return { path: path.resolve(flag), explicit: true };
  if (env.OPSCTL_CONFIG) return { path: path.resolve(env.OPSCTL_CONFIG), explicit: true };
  return { path: path.join(configHome(env), 'config.json'), explicit: false };
}

export function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const { path: file, explicit } = configPath(flag, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return { path: file, found: false, data: {} };
    if (code === 'ENOENT') throw usageError(`Config file ${file} does not exist.`, 'check --config / OPSCTL_CONFIG', 'config-missing');
    throw usageError(`Cannot read config file ${file}: ${(err as Error).message}`, 'check the file permissions', 'config-unreadable');
  }
  return { path: file, found: true, data: parseConfig(text, file) };
}

export function parseConfig(text: string, file: string): ConfigFile {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    const detail = (err as Error).message.replace(/^JSON\.parse: /, '');
    throw usageError(`Config file ${file} is not valid JSON: ${detail}`, 'fix the file or point --config at another one', 'config-malformed');
  }
  if (!isPlainObject(raw)) {
    throw usageError(`Config file ${file} must contain a JSON object, not ${describe(raw)}.`, 'e.g. {"ecs": {"cluster": "main"}}', 'config-malformed');
  }
  const out: ConfigFile = {};
  for (const [section, value] of Object.entries(raw)) {
    if (section === '$schema') continue;
    if (!isPlainObject(value)) {
      throw usageError(`Config file ${file}: "${section}" must be an object of settings, not ${describe(value)}.`, `e.g. {"${section}": {"key": "value"}}`, 'config-malformed');
    }
    const sec: ConfigSection = {};
    for (const [key, v] of Object.entries(value)) {
      const ok = v === null || ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
      if (!ok) throw usageError(`Config file ${file}: "${section}.${key}" must be a string, number, boolean or list of strings, not ${describe(v)}.`, undefined, 'config-malformed');
      sec[key] = v as ConfigValue;
    }
    out[section] = sec;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/** OPSCTL_<SECTION>_<KEY>, with camelCase keys in SCREAMING_SNAKE: cognito.userPoolId → OPSCTL_COGNITO_USER_POOL_ID. */
export function envName(section: string, key: string): string {
  const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
  return `OPSCTL_${snake(section)}_${snake(key)}`;
}

export type SettingType = 'string' | 'number' | 'boolean' | 'list';

export interface SettingSource {
  config: ConfigFile;
  configPath: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Resolve one setting: flag value (undefined when not given) > env > config > fallback.
 * Values from env and config are converted to the wanted type, with a clear error when they cannot be.
 */
export function resolveSetting<T extends ConfigValue | undefined>(
  src: SettingSource,
  section: string,
  key: string,
  flag: T | undefined,
  fallback?: T,
  type: SettingType = typeof fallback === 'number' ? 'number' : typeof fallback === 'boolean' ? 'boolean' : Array.isArray(fallback) ? 'list' : 'string',
): T | undefined {
  if (flag !== undefined) return flag;
  const name = envName(section, key);
  const fromEnv = src.env[name];
  if (fromEnv !== undefined && fromEnv !== '') return convert(fromEnv, type, `environment variable ${name}`) as T;
  const fromConfig = src.config[section]?.[key];
  if (fromConfig !== undefined && fromConfig !== null) return convert(fromConfig, type, `"${section}.${key}" in ${src.configPath}`) as T;
  return fallback;
}

function convert(v: ConfigValue, type: SettingType, where: string): ConfigValue {
  switch (type) {
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      break;
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isFinite(n)) return n;
      break;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(1|true|yes|on)$/i.test(v)) return true;
      if (typeof v === 'string' && /^(0|false|no|off)$/i.test(v)) return false;
      break;
    case 'list':
      if (Array.isArray(v)) return v;
      if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
      break;
  }
  throw usageError(`${where} must be a ${type}, got ${JSON.stringify(v)}.`, undefined, 'config-malformed');
}
