import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { OpsError, usageError } from '../../lib/errors.js';
import { makeDirs, readFileIfExists, writeFileAtomic, writeFilesAtomic } from '../../lib/fs.js';
export { makeDirs };
import { certInfo, certName, unreadable, METADATA_FILE, type CertFiles, type CertMetadata, type StoredCert } from './store.js';

/** certbot's four files, in the order the live links are swapped (key first: a reader of the new cert finds its key). */
const KINDS = ['privkey', 'cert', 'chain', 'fullchain'] as const;
type Kind = (typeof KINDS)[number];

export interface ArchiveVersion {
  version: number;
  serial?: string;
  notAfter?: string;
  current: boolean;
}

/** The live/ + archive/ store (see store.ts for the layout). */
export class CertStore {
  private migrated = false;
  constructor(readonly root: string) {}

  get liveRoot(): string {
    return path.join(this.root, 'live');
  }

  get archiveRoot(): string {
    return path.join(this.root, 'archive');
  }

  /** live/<name>: the directory users point their servers at. */
  dirFor(name: string): string {
    return path.join(this.liveRoot, safeName(name));
  }

  archiveDir(name: string): string {
    return path.join(this.archiveRoot, safeName(name));
  }

  async read(name: string): Promise<StoredCert | undefined> {
    await this.migrateLegacy();
    const dir = this.dirFor(name);
    const text = await readFileIfExists(path.join(dir, METADATA_FILE)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTDIR') return undefined;
      throw unreadable(dir, err);
    });
    if (text === undefined) return undefined;
    let meta: CertMetadata;
    try {
      meta = JSON.parse(text) as CertMetadata;
    } catch (err) {
      throw new OpsError(`${path.join(dir, METADATA_FILE)} is not valid JSON: ${(err as Error).message}`, { hint: `fix the file, or issue a new certificate over it with \`opsctl cert issue -d ${certName(name)} … --force\``, code: 'cert-metadata-corrupt' });
    }
    return { dir, meta: upgradeMeta(meta) };
  }

  /** The stored certificate, or a clear error naming what is stored. */
  async get(name: string): Promise<StoredCert> {
    const found = await this.read(name);
    if (found) return found;
    const names = (await this.list()).map((c) => c.meta.name);
    throw usageError(
      `No certificate named "${certName(name)}" in ${this.root}.`,
      names.length ? `stored certificates: ${names.join(', ')}` : 'issue one first with `opsctl cert issue -d DOMAIN --email EMAIL …`',
      'cert-not-found',
    );
  }

  /** Every stored certificate; unreadable metadata is reported through `onError` and skipped. */
  async list(onError?: (name: string, err: unknown) => void): Promise<StoredCert[]> {
    await this.migrateLegacy();
    let entries: string[];
    try {
      entries = await fsp.readdir(this.liveRoot);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw unreadable(this.root, err);
    }
    const out: StoredCert[] = [];
    for (const e of entries.sort()) {
      if (e.startsWith('.')) continue;
      const c = await this.read(e).catch((err) => void onError?.(e, err));
      if (c) out.push(c);
    }
    return out;
  }

  async readFiles(c: StoredCert): Promise<CertFiles> {
    const read = async (kind: Kind) => {
      const f = path.join(c.dir, `${kind}.pem`);
      const text = await readFileIfExists(f);
      if (text === undefined) throw new OpsError(`${f} is missing.`, { hint: `re-issue with \`opsctl cert renew -d ${c.meta.name} --force\``, code: 'cert-file-missing' });
      return text;
    };
    return { privkey: await read('privkey'), cert: await read('cert'), chain: await read('chain'), fullchain: await read('fullchain') };
  }

  /**
   * Store a newly issued certificate as archive version N+1 and point the live
   * links at it. Only called after the CA handed it over, so a failed issuance
   * never touches the current files. The new key takes the owner, group and
   * mode of the current one (a `640 root:ssl-cert` key stays so).
   */
  async writeCert(name: string, files: CertFiles, meta: CertMetadata): Promise<string> {
    const n = safeName(name);
    const archive = this.archiveDir(n);
    const live = this.dirFor(n);
    await ensureDir(this.root, 0o700);
    await ensureDir(this.archiveRoot, 0o700);
    await ensureDir(this.liveRoot, 0o700);
    await ensureDir(archive, 0o755);
    await ensureDir(live, 0o755);
    const keyStat = await fsp.stat(path.join(live, 'privkey.pem')).catch(() => undefined);
    const version = (await this.versionNumbers(n)).reduce((a, b) => Math.max(a, b), 0) + 1;
    const keyMode = keyStat ? keyStat.mode & 0o777 : 0o600;
    const target = (kind: Kind) => path.join(archive, `${kind}${version}.pem`);
    // All four are staged and fsynced before any is renamed into place: a key never meets a certificate it does not belong to.
    await writeFilesAtomic(KINDS.map((kind) => ({ file: target(kind), data: files[kind], mode: kind === 'privkey' ? keyMode : 0o644 })));
    if (keyStat) await keepOwner(target('privkey'), keyStat);
    await this.pointLive(n, version);
    await this.writeMeta(live, { ...meta, archiveVersion: version });
    return live;
  }

  /** Swap each live link to archive version N: a rename over the old link, so the path never disappears. */
  async pointLive(name: string, version: number): Promise<void> {
    const live = this.dirFor(name);
    for (const kind of KINDS) {
      const link = path.join(live, `${kind}.pem`);
      const tmp = path.join(live, `.${kind}.pem.${process.pid}.tmp`);
      await fsp.rm(tmp, { force: true });
      await fsp.symlink(path.join('..', '..', 'archive', safeName(name), `${kind}${version}.pem`), tmp);
      await fsp.rename(tmp, link);
    }
  }

  /** The archive versions of a certificate, oldest first. */
  async versions(name: string): Promise<ArchiveVersion[]> {
    const current = await this.currentVersion(name);
    const out: ArchiveVersion[] = [];
    for (const version of (await this.versionNumbers(name)).sort((a, b) => a - b)) {
      const pem = await readFileIfExists(path.join(this.archiveDir(name), `cert${version}.pem`));
      let info: ReturnType<typeof certInfo> | undefined;
      try {
        info = pem ? certInfo(pem) : undefined;
      } catch {
        info = undefined;
      }
      out.push({ version, serial: info?.serial, notAfter: info?.notAfter.toISOString(), current: version === current });
    }
    return out;
  }

  async currentVersion(name: string): Promise<number | undefined> {
    const target = await fsp.readlink(path.join(this.dirFor(name), 'cert.pem')).catch(() => undefined);
    const m = target ? /cert(\d+)\.pem$/.exec(target) : null;
    return m ? Number(m[1]) : undefined;
  }

  /** Versions that have all four files. */
  private async versionNumbers(name: string): Promise<number[]> {
    const entries = await fsp.readdir(this.archiveDir(name)).catch(() => [] as string[]);
    const count = new Map<number, number>();
    for (const e of entries) {
      const m = /^(privkey|cert|chain|fullchain)(\d+)\.pem$/.exec(e);
      if (m) count.set(Number(m[2]), (count.get(Number(m[2])) ?? 0) + 1);
    }
    return [...count].filter(([, c]) => c === KINDS.length).map(([v]) => v);
  }

  /** Fail before talking to a CA if the certificate could not be stored afterwards. */
  async ensureWritable(name: string): Promise<void> {
    const dirs = [this.root, this.archiveRoot, this.liveRoot, path.join(this.root, '.accounts')];
    try {
      for (const d of dirs) {
        await ensureDir(d, 0o700);
        await fsp.access(d, fsConstants.W_OK);
      }
      for (const d of [this.archiveDir(name), this.dirFor(name)]) {
        const st = await fsp.stat(d).catch(() => undefined);
        if (st) await fsp.access(d, fsConstants.W_OK);
      }
    } catch (err) {
      throw new OpsError(`Cannot write to the certificate store ${this.root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
        hint: 'run as a user who can write there, or pick another place with --cert-dir',
        code: 'cert-store-unwritable',
      });
    }
  }

  /** Settings and delivery state hold no secret, but name hosts, apps and hooks: 0600 like the key. */
  async writeMeta(dir: string, meta: CertMetadata): Promise<void> {
    const { lastPushes: _old, ...rest } = meta;
    await writeFileAtomic(path.join(dir, METADATA_FILE), JSON.stringify({ ...rest, version: 2 }, null, 2) + '\n', { mode: 0o600 });
  }

  accountPaths(directoryUrl: string, email: string): { key: string; info: string } {
    const u = new URL(directoryUrl);
    const hash = createHash('sha256').update(directoryUrl).digest('hex').slice(0, 8);
    const dirName = `${u.host.replace(/[^A-Za-z0-9.-]/g, '_')}-${hash}`;
    const who = email.toLowerCase().replace(/[^A-Za-z0-9@._+-]/g, '_');
    const base = path.join(this.root, '.accounts', dirName);
    return { key: path.join(base, `${who}.key.pem`), info: path.join(base, `${who}.json`) };
  }

  /**
   * The layout before v2 kept the files in <root>/<name>/. Each such directory
   * becomes archive version 1 (hard links: owner, group and mode kept) with
   * live links, and <root>/<name> is replaced by a symlink to live/<name>.
   */
  private async migrateLegacy(): Promise<void> {
    if (this.migrated) return;
    this.migrated = true;
    const entries = await fsp.readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'live' || e.name === 'archive') continue;
      const old = path.join(this.root, e.name);
      const metaText = await readFileIfExists(path.join(old, METADATA_FILE)).catch(() => undefined);
      if (metaText === undefined) continue;
      await this.migrateOne(e.name, old, metaText).catch((err) => {
        throw new OpsError(`Cannot move ${old} to the live/ + archive/ layout: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
          hint: 'run as the user that owns the store (often root)',
          code: 'cert-store-migrate',
          cause: err,
        });
      });
    }
  }

  private async migrateOne(name: string, old: string, metaText: string): Promise<void> {
    const archive = this.archiveDir(name);
    const live = this.dirFor(name);
    await ensureDir(this.archiveRoot, 0o700);
    await ensureDir(this.liveRoot, 0o700);
    await ensureDir(archive, 0o755);
    const version = (await this.versionNumbers(name)).reduce((a, b) => Math.max(a, b), 0) + 1;
    const present = await Promise.all(KINDS.map((k) => fsp.access(path.join(old, `${k}.pem`)).then(() => true, () => false)));
    for (const kind of present.every(Boolean) ? KINDS : []) {
      const src = path.join(old, `${kind}.pem`);
      const dst = path.join(archive, `${kind}${version}.pem`);
      await fsp.link(src, dst).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return;
        const st = await fsp.stat(src);
        await fsp.copyFile(src, dst);
        await fsp.chmod(dst, st.mode & 0o777);
        await keepOwner(dst, st);
      });
    }
    await ensureDir(live, 0o755);
    // A directory without its four files (a half-written store) keeps only its metadata: `cert renew --force` re-issues it.
    if (present.every(Boolean)) await this.pointLive(name, version);
    let meta: CertMetadata;
    try {
      meta = JSON.parse(metaText) as CertMetadata;
    } catch {
      meta = undefined as unknown as CertMetadata;
    }
    if (meta) await this.writeMeta(live, { ...upgradeMeta(meta), archiveVersion: version });
    else await fsp.copyFile(path.join(old, METADATA_FILE), path.join(live, METADATA_FILE));
    // The old directory's paths are in nginx configs: keep them working through a symlink.
    const aside = path.join(this.root, `.${name}.pre-v2`);
    await fsp.rename(old, aside);
    await fsp.symlink(path.join('live', name), old);
    await fsp.rm(aside, { recursive: true, force: true });
  }
}

function safeName(name: string): string {
  const n = certName(name);
  if (n.includes('/') || n.startsWith('.') || n === '') throw usageError(`"${name}" is not a certificate name.`);
  return n;
}

async function ensureDir(dir: string, mode: number): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await makeDirs(dir, mode);
      return;
    }
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}


/** Give a new key file the owner and group of the one it replaces (only root may give it away; a member may pick its group). */
async function keepOwner(file: string, like: Stats): Promise<void> {
  const st = await fsp.stat(file);
  if (st.uid === like.uid && st.gid === like.gid) return;
  await fsp.chown(file, like.uid, like.gid).catch(async () => {
    await fsp.chown(file, st.uid, like.gid).catch(() => {});
  });
  // chown clears nothing of the permission bits for a key, but some systems drop set-id bits; restore the mode.
  await fsp.chmod(file, like.mode & 0o777);
}

/** Metadata written before v2: last push results without a serial become deliveries of the current certificate. */
export function upgradeMeta(meta: CertMetadata): CertMetadata {
  meta.pushTargets ??= [];
  if (meta.lastPushes && !meta.deliveries) {
    meta.deliveries = {};
    for (const p of meta.lastPushes) {
      meta.deliveries[p.target] = { ok: p.ok, at: p.at, ...(p.ok ? { serial: meta.serial } : {}), ...(p.message ? { error: p.message } : {}) };
    }
  }
  delete meta.lastPushes;
  meta.deliveries ??= {};
  return meta;
}
