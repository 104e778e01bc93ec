import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The AWS shared config and credentials files, read the way aws-cli and the
 * SDK read them: `[default]` and `[profile NAME]` in the config file,
 * `[NAME]` in the credentials file; other config sections (`[sso-session x]`,
 * `[services x]`) are not profiles. Plain file reads, no SDK: the unknown-profile
 * hint and region resolution need them before any client exists.
 */
export interface SharedConfigFiles {
  configFile: string;
  credentialsFile: string;
}

export type IniSections = Map<string, Record<string, string>>;

export function sharedConfigFiles(env: NodeJS.ProcessEnv = process.env): SharedConfigFiles {
  const home = env.HOME || os.homedir();
  return {
    configFile: expandHome(env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config'), home),
    credentialsFile: expandHome(env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials'), home),
  };
}

function expandHome(file: string, home: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(home, file.slice(1)) : file;
}

export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]*?)\s*\]/.exec(line);
    if (header) {
      const name = header[1]!.replace(/\s+/g, ' ');
      current = sections.get(name) ?? {};
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    // Indented lines continue a nested value (e.g. `s3 =` blocks): not a setting of the profile itself.
    if (!current || eq <= 0 || /^\s/.test(raw)) continue;
    current[line.slice(0, eq).trim()] = line.slice(eq + 1).replace(/\s[#;].*$/, '').trim();
  }
  return sections;
}

function readIni(file: string): IniSections | undefined {
  try {
    return parseIni(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Profile name → its settings, config file first and the credentials file merged in (as the SDK does). */
export function loadProfiles(env: NodeJS.ProcessEnv = process.env): { files: SharedConfigFiles; profiles: Map<string, Record<string, string>> } {
  const files = sharedConfigFiles(env);
  const profiles = new Map<string, Record<string, string>>();
  for (const [section, values] of readIni(files.configFile) ?? []) {
    const name = section === 'default' ? 'default' : /^profile (.+)$/.exec(section)?.[1];
    if (name !== undefined) profiles.set(name, { ...profiles.get(name), ...values });
  }
  for (const [section, values] of readIni(files.credentialsFile) ?? []) {
    profiles.set(section, { ...values, ...profiles.get(section) });
  }
  return { files, profiles };
}

export function listProfiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...loadProfiles(env).profiles.keys()].sort();
}
