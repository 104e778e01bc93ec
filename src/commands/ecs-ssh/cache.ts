/**
 * The last resolution per cluster+service (task, container instance, EC2
 * instance and its addresses), so a repeat connect costs one DescribeTasks:
 * when that task still runs on that container instance, the instance's
 * addresses are taken from here instead of DescribeContainerInstances and
 * DescribeInstances. $XDG_CACHE_HOME/opsctl/ecs-ssh.json, 0600, written atomically.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/fs.js';
import type { InstanceView } from './tasks.js';

export interface CachedResolution {
  cluster: string;
  service: string;
  taskArn: string;
  /** "" for Fargate. */
  containerInstanceArn: string;
  container: string;
  instance?: InstanceView;
  sharedNameTag: boolean;
  ssmManaged?: boolean;
  /** The ssh destination chosen last time: a repeat connect asks `ssh -G` about it (and the Name tag) only. */
  sshHost?: string;
  savedAt: string;
}

const MAX_ENTRIES = 200;
const VERSION = 1;

export function cacheFile(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'opsctl', 'ecs-ssh.json');
}

/** Profile and region are part of the key: the same names in another account are other tasks. */
export function cacheKey(parts: { profile?: string; region?: string; cluster?: string; service: string }): string {
  return JSON.stringify([parts.profile ?? '', parts.region ?? '', parts.cluster ?? '', parts.service]);
}

type CacheData = { version: number; entries: Record<string, CachedResolution> };

export class ResolutionCache {
  private data?: CacheData;
  constructor(readonly file: string) {}

  private load(): CacheData {
    if (this.data) return this.data;
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as CacheData;
      this.data = parsed && parsed.version === VERSION && typeof parsed.entries === 'object' && parsed.entries ? parsed : { version: VERSION, entries: {} };
    } catch {
      // Missing, unreadable or damaged: a cache, so start empty.
      this.data = { version: VERSION, entries: {} };
    }
    return this.data;
  }

  get(key: string): CachedResolution | undefined {
    const e = this.load().entries[key];
    return e && typeof e.taskArn === 'string' && typeof e.containerInstanceArn === 'string' && (!e.containerInstanceArn || typeof e.instance?.id === 'string') ? e : undefined;
  }

  /** Write only when something changed; never fails the connect. */
  async put(key: string, entry: Omit<CachedResolution, 'savedAt'>): Promise<void> {
    const data = this.load();
    const old = data.entries[key];
    if (old && JSON.stringify({ ...old, savedAt: '' }) === JSON.stringify({ ...entry, savedAt: '' })) return;
    data.entries[key] = { ...entry, savedAt: new Date().toISOString() };
    const keys = Object.keys(data.entries).sort((a, b) => data.entries[a]!.savedAt.localeCompare(data.entries[b]!.savedAt));
    for (const k of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) delete data.entries[k];
    await writeFileAtomic(this.file, JSON.stringify(data) + '\n', { mode: 0o600 }).catch(() => undefined);
  }

  async drop(key: string): Promise<void> {
    const data = this.load();
    if (!data.entries[key]) return;
    delete data.entries[key];
    await writeFileAtomic(this.file, JSON.stringify(data) + '\n', { mode: 0o600 }).catch(() => undefined);
  }
}
