import { X509Certificate, createHash } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { configHome } from '../../lib/config.js';
import { OpsError, usageError } from '../../lib/errors.js';
import { readFileIfExists, writeFileAtomic, writeFilesAtomic } from '../../lib/fs.js';

/**
 * The certificate store, laid out like certbot's live/ directory so existing
 * nginx/haproxy configs keep working:
 *   <root>/<name>/{privkey.pem,cert.pem,chain.pem,fullchain.pem,opsctl.json}
 *   <root>/.accounts/<directory>/<email>.{key.pem,json}
 * <name> is the first domain (a wildcard's "*." dropped, as certbot does).
 */
export const METADATA_FILE = 'opsctl.json';
export const CERT_FILES = ['privkey.pem', 'cert.pem', 'chain.pem', 'fullchain.pem'] as const;

export type ChallengeSettings =
  | { type: 'webroot'; webroot: string }
  | { type: 'standalone'; httpPort: number }
  | { type: 'heroku'; app: string }
  | { type: 'dns'; provider: 'route53'; hostedZoneId?: string };

export type PushTarget =
  | { type: 'heroku'; app: string; sniEndpoint?: string }
  | { type: 'acm'; certificateArn?: string; region?: string }
  | { type: 'ssh'; host: string; dir: string; reload?: string; sshConfig?: string };

export type KeyType = 'ecdsa-p256' | 'rsa-2048' | 'rsa-4096';

export interface CertMetadata {
  version: 1;
  name: string;
  domains: string[];
  directory: string;
  email: string;
  keyType: KeyType;
  challenge: ChallengeSettings;
  /** Skip opsctl's own HTTP pre-check of the challenge (private networks, tests). */
  skipSelfCheck?: boolean;
  /** Extra CA bundle trusted for the ACME API (private CA). */
  caBundle?: string;
  pushTargets: PushTarget[];
  issuer?: string;
  serial?: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  lastPushes?: Array<{ target: string; at: string; ok: boolean; message?: string }>;
}

export interface CertFiles {
  privkey: string;
  cert: string;
  chain: string;
  fullchain: string;
}

export interface StoredCert {
  dir: string;
  meta: CertMetadata;
}

export function defaultCertRoot(env: NodeJS.ProcessEnv): string {
  return path.join(configHome(env), 'certs');
}

/** The store directory name for a certificate: its first domain, lower-case, without a leading "*.". */
export function certName(firstDomain: string): string {
  return firstDomain.toLowerCase().replace(/^\*\./, '');
}

const DOMAIN = /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-case, de-duplicated, validated domains; a bad one is a usage error. */
export function normalizeDomains(domains: string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of domains ?? []) {
    for (const part of raw.split(',')) {
      const d = part.trim().toLowerCase().replace(/\.$/, '');
      if (!d) continue;
      if (!DOMAIN.test(d) || d.length > 253) throw usageError(`"${part.trim()}" is not a valid domain name.`, 'pass names like example.com or *.example.com', 'bad-domain');
      if (!out.includes(d)) out.push(d);
    }
  }
  return out;
}

export class CertStore {
  constructor(readonly root: string) {}

  dirFor(name: string): string {
    const n = certName(name);
    if (n.includes('/') || n.startsWith('.')) throw usageError(`"${name}" is not a certificate name.`);
    return path.join(this.root, n);
  }

  async read(name: string): Promise<StoredCert | undefined> {
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
    meta.pushTargets ??= [];
    return { dir, meta };
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
    let entries: string[];
    try {
      entries = await fsp.readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
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
    const read = async (f: string) => {
      const text = await readFileIfExists(path.join(c.dir, f));
      if (text === undefined) throw new OpsError(`${path.join(c.dir, f)} is missing.`, { hint: `re-issue with \`opsctl cert renew -d ${c.meta.name} --force\``, code: 'cert-file-missing' });
      return text;
    };
    return { privkey: await read('privkey.pem'), cert: await read('cert.pem'), chain: await read('chain.pem'), fullchain: await read('fullchain.pem') };
  }

  /**
   * Write a newly issued certificate. Only called after the CA handed it over,
   * so a failed issuance or renewal never touches the current files. The four
   * PEM files are staged together and the metadata written last: a reader sees
   * either the old set or the new one named by the metadata.
   */
  async writeCert(name: string, files: CertFiles, meta: CertMetadata): Promise<string> {
    const dir = this.dirFor(name);
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // All four are staged and fsynced before any is renamed into place: a key never meets a certificate it does not belong to.
    await writeFilesAtomic([
      { file: path.join(dir, 'privkey.pem'), data: files.privkey, mode: 0o600 },
      { file: path.join(dir, 'cert.pem'), data: files.cert, mode: 0o644 },
      { file: path.join(dir, 'chain.pem'), data: files.chain, mode: 0o644 },
      { file: path.join(dir, 'fullchain.pem'), data: files.fullchain, mode: 0o644 },
    ]);
    await this.writeMeta(dir, meta);
    return dir;
  }

  /** Fail before talking to a CA if the certificate could not be stored afterwards. */
  async ensureWritable(name: string): Promise<void> {
    const dir = this.dirFor(name);
    try {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      await fsp.access(dir, fsConstants.W_OK);
      await fsp.mkdir(path.join(this.root, '.accounts'), { recursive: true, mode: 0o700 });
      await fsp.access(path.join(this.root, '.accounts'), fsConstants.W_OK);
    } catch (err) {
      throw new OpsError(`Cannot write to the certificate store ${this.root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
        hint: 'run as a user who can write there, or pick another place with --cert-dir',
        code: 'cert-store-unwritable',
      });
    }
  }

  async writeMeta(dir: string, meta: CertMetadata): Promise<void> {
    await writeFileAtomic(path.join(dir, METADATA_FILE), JSON.stringify(meta, null, 2) + '\n', { mode: 0o644 });
  }

  accountPaths(directoryUrl: string, email: string): { key: string; info: string } {
    const u = new URL(directoryUrl);
    const hash = createHash('sha256').update(directoryUrl).digest('hex').slice(0, 8);
    const dirName = `${u.host.replace(/[^A-Za-z0-9.-]/g, '_')}-${hash}`;
    const who = email.toLowerCase().replace(/[^A-Za-z0-9@._+-]/g, '_');
    const base = path.join(this.root, '.accounts', dirName);
    return { key: path.join(base, `${who}.key.pem`), info: path.join(base, `${who}.json`) };
  }
}

/** A store owned by another user (certificates issued with sudo are root's): one line and what to do. */
function unreadable(p: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM') return err;
  return new OpsError(`Cannot read the certificate store at ${p}: permission denied.`, {
    hint: "run as the user that owns it (certificates issued with sudo are root's: sudo opsctl cert …), or pick another store with --cert-dir",
    code: 'cert-store-unreadable',
  });
}

export interface CertInfo {
  domains: string[];
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** Parse the leaf certificate (first PEM block). */
export function certInfo(pem: string): CertInfo {
  const x = new X509Certificate(splitPem(pem)[0] ?? pem);
  const domains = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  const cn = /CN=([^\n,]+)/.exec(x.issuer)?.[1] ?? x.issuer.replace(/\n/g, ', ');
  return { domains, issuer: cn, serial: x.serialNumber, notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
}

export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((b) => (b.endsWith('\n') ? b : b + '\n')) ?? [];
}

/** Due for renewal: within a third of its lifetime of expiry, or fewer than `days` days left. */
export function renewalDue(meta: Pick<CertMetadata, 'notBefore' | 'notAfter'>, now: Date, days?: number): { due: boolean; daysLeft: number; reason: string } {
  const nb = Date.parse(meta.notBefore);
  const na = Date.parse(meta.notAfter);
  const daysLeft = Math.floor((na - now.getTime()) / 86_400_000);
  if (days !== undefined) {
    return { due: daysLeft < days, daysLeft, reason: `${daysLeft} days left (renewing below ${days})` };
  }
  const renewAt = na - (na - nb) / 3;
  const due = now.getTime() >= renewAt;
  return { due, daysLeft, reason: due ? `${daysLeft} days left, within the last third of its lifetime` : `${daysLeft} days left, due from ${new Date(renewAt).toISOString().slice(0, 10)}` };
}

export function describeTarget(t: PushTarget): string {
  switch (t.type) {
    case 'heroku':
      return `heroku:${t.app}`;
    case 'acm':
      return t.certificateArn ? `acm:${t.certificateArn}` : 'acm';
    case 'ssh':
      return `ssh:${t.host}:${t.dir}`;
  }
}

/** Same target (so pushing again replaces the stored entry instead of adding one). */
export function sameTarget(a: PushTarget, b: PushTarget): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'heroku' && b.type === 'heroku') return a.app === b.app;
  if (a.type === 'ssh' && b.type === 'ssh') return a.host === b.host && a.dir === b.dir;
  if (a.type === 'acm' && b.type === 'acm') return !a.certificateArn || !b.certificateArn || a.certificateArn === b.certificateArn;
  return false;
}
