import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { configHome } from '../../lib/config.js';
import { OpsError, usageError } from '../../lib/errors.js';

/**
 * The certificate store, laid out as certbot's live/ and archive/ (so nginx and
 * haproxy configs written for certbot's paths keep working):
 *   <root>/archive/<name>/{cert,chain,fullchain,privkey}N.pem   every version kept
 *   <root>/live/<name>/{cert,chain,fullchain,privkey}.pem        symlinks to the current N
 *   <root>/live/<name>/opsctl.json                               settings + delivery state (0600)
 *   <root>/.accounts/<directory>/<email>.{key.pem,json}
 * <name> is the first domain (a wildcard's "*." dropped, as certbot does).
 * The layout before v2 (<root>/<name>/*.pem) is migrated on first use and
 * <root>/<name> left as a symlink to live/<name>, so paths in configs hold.
 */
export const METADATA_FILE = 'opsctl.json';
export const CERT_FILES = ['privkey.pem', 'cert.pem', 'chain.pem', 'fullchain.pem'] as const;

export type ChallengeSettings =
  | { type: 'webroot'; webroot: string }
  | { type: 'standalone'; httpPort: number }
  | { type: 'heroku'; app: string }
  | { type: 'dns'; provider: 'route53'; hostedZoneId?: string }
  | { type: 'dns'; provider: 'exec'; program: string }
  /** The credentials file holds the TSIG secret: only its path is stored. */
  | { type: 'dns'; provider: 'rfc2136'; credentials?: string }
  | { type: 'dns'; provider: 'cloudflare'; zoneId?: string };

export type PushTarget =
  | { type: 'heroku'; app: string; sniEndpoint?: string }
  | { type: 'acm'; certificateArn?: string; region?: string }
  | { type: 'ssh'; host: string; dir: string; reload?: string; sshConfig?: string };

export type KeyType = 'ecdsa-p256' | 'rsa-2048' | 'rsa-4096';

/** certbot's --pre-hook/--post-hook/--deploy-hook: command lines the user typed, run with /bin/sh -c. */
export interface CertHooks {
  pre?: string;
  post?: string;
  deploy?: string;
}

/** The last attempt to deliver the certificate to one place (a push target or the deploy hook). */
export interface Delivery {
  ok: boolean;
  at: string;
  /** Serial of the certificate that attempt delivered (or tried to). */
  serial?: string;
  error?: string;
  hint?: string;
}

/** The CA's renewal window for the current certificate (RFC 9773) and the time picked inside it. */
export interface AriState {
  start: string;
  end: string;
  explanationURL?: string;
  /** Do not ask again before this (Retry-After). */
  nextFetch: string;
  /** The random point inside the window at which `cert renew` renews. */
  renewAt: string;
  /** Serial the window is for. */
  serial?: string;
}

/** The delivery label of the deploy hook (push targets use describeTarget). */
export const DEPLOY_HOOK = 'deploy-hook';

export interface CertMetadata {
  version: 1 | 2;
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
  /** ACME profile (draft-ietf-acme-profiles) asked for in every order. */
  profile?: string;
  /** ARI window of the current certificate, when the CA offers renewalInfo. */
  ari?: AriState;
  /** Set by `cert revoke`: the next renewal replaces it whatever its dates. */
  revokedAt?: string;
  /** Which archive/<name>/*N.pem the live links point at. */
  archiveVersion?: number;
  hooks?: CertHooks;
  /** --reuse-key: renewals keep the private key. */
  reuseKey?: boolean;
  /** --preferred-chain: issuer CN of the chain to pick when the CA offers several. */
  preferredChain?: string;
  /** Per delivery label (describeTarget, or DEPLOY_HOOK): the last attempt. */
  deliveries?: Record<string, Delivery>;
  /** Before v2: the last result per target, without the serial it was for. */
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

export { CertStore } from './store-fs.js';

export function defaultCertRoot(env: NodeJS.ProcessEnv): string {
  return path.join(configHome(env), 'certs');
}

/** The store directory name for a certificate: its first domain, lower-case, without a leading "*.". */
export function certName(firstDomain: string): string {
  return firstDomain.toLowerCase().replace(/^\*\./, '');
}

const DOMAIN = /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-case, de-duplicated, validated domains (and IP addresses, RFC 8738); a bad one is a usage error. */
export function normalizeDomains(domains: string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of domains ?? []) {
    for (const part of raw.split(',')) {
      let d = part.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
      if (isIP(d)) {
        // One spelling per address (::1, not 0:0:…:1), as the certificate will show it.
        if (isIP(d) === 6) d = new URL(`http://[${d}]/`).hostname.slice(1, -1);
        if (!out.includes(d)) out.push(d);
        continue;
      }
      d = d.replace(/\.$/, '');
      if (!d) continue;
      if (!DOMAIN.test(d) || d.length > 253) throw usageError(`"${part.trim()}" is not a valid domain name.`, 'pass names like example.com or *.example.com', 'bad-domain');
      if (!out.includes(d)) out.push(d);
    }
  }
  return out;
}

/** A store owned by another user (certificates issued with sudo are root's): one line and what to do. */
export function unreadable(p: string, err: unknown): unknown {
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
    .filter((s) => s.startsWith('DNS:') || s.startsWith('IP Address:'))
    .map((s) => (s.startsWith('DNS:') ? s.slice(4) : s.slice('IP Address:'.length).toLowerCase()));
  const cn = /CN=([^\n,]+)/.exec(x.issuer)?.[1] ?? x.issuer.replace(/\n/g, ', ');
  return { domains, issuer: cn, serial: x.serialNumber, notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
}

export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((b) => (b.endsWith('\n') ? b : b + '\n')) ?? [];
}

export interface RenewalDue {
  due: boolean;
  /** Whole days left (negative once expired). */
  daysLeft: number;
  /** When the rule makes it due. */
  renewAt: string;
  reason: string;
}

/** "41 days", or hours under two days (short-lived certificates live ~6 days). */
export function formatLeft(ms: number): string {
  if (ms <= 0) return 'expired';
  const hours = ms / 3_600_000;
  if (hours < 48) return `${Math.floor(hours)} hours`;
  return `${Math.floor(hours / 24)} days`;
}

/**
 * Due for renewal: in the last third of its lifetime, or the last half for a
 * certificate of 10 days or less (Let's Encrypt's advice for short-lived
 * ones); or, with `days`, fewer than that many days left.
 */
export function renewalDue(meta: Pick<CertMetadata, 'notBefore' | 'notAfter' | 'revokedAt' | 'ari' | 'serial'>, now: Date, days?: number): RenewalDue {
  const na0 = Date.parse(meta.notAfter);
  if (days === undefined && !meta.revokedAt && meta.ari && meta.ari.serial === meta.serial) {
    // The CA's window (ARI) decides: at the time picked inside it, or at once when it has passed.
    const at = Date.parse(meta.ari.renewAt);
    const due = now.getTime() >= at;
    const window = `${meta.ari.start.slice(0, 16).replace('T', ' ')} – ${meta.ari.end.slice(0, 16).replace('T', ' ')} UTC`;
    const left = formatLeft(na0 - now.getTime());
    return {
      due,
      daysLeft: Math.floor((na0 - now.getTime()) / 86_400_000),
      renewAt: meta.ari.renewAt,
      reason: due ? `${left} left, inside the CA's renewal window (ARI ${window})` : `${left} left, due ${meta.ari.renewAt.slice(0, 16).replace('T', ' ')} UTC, picked in the CA's renewal window (ARI ${window})`,
    };
  }
  if (meta.revokedAt) return { due: true, daysLeft: Math.floor((Date.parse(meta.notAfter) - now.getTime()) / 86_400_000), renewAt: meta.revokedAt, reason: `revoked ${meta.revokedAt.slice(0, 10)}` };
  const nb = Date.parse(meta.notBefore);
  const na = Date.parse(meta.notAfter);
  const leftMs = na - now.getTime();
  const daysLeft = Math.floor(leftMs / 86_400_000);
  const left = formatLeft(leftMs);
  if (days !== undefined) {
    const at = na - days * 86_400_000;
    return { due: leftMs < days * 86_400_000, daysLeft, renewAt: new Date(at).toISOString(), reason: `${left} left (renewing below ${days} days)` };
  }
  const lifetime = na - nb;
  const short = lifetime <= 10 * 86_400_000;
  const renewAt = na - lifetime / (short ? 2 : 3);
  const due = now.getTime() >= renewAt;
  const rule = short ? 'the last half of its lifetime (10 days or less)' : 'the last third of its lifetime';
  const when = short ? new Date(renewAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : new Date(renewAt).toISOString().slice(0, 10);
  return { due, daysLeft, renewAt: new Date(renewAt).toISOString(), reason: due ? `${left} left, within ${rule}` : `${left} left, due from ${when} (${rule})` };
}

/** Every place the current certificate must reach: push targets, then the deploy hook. */
export function deliveryLabels(meta: CertMetadata): string[] {
  return [...meta.pushTargets.map(describeTarget), ...(meta.hooks?.deploy ? [DEPLOY_HOOK] : [])];
}

/** Places that have not received the current certificate: never tried, failed, or given an older one. */
export function pendingDeliveries(meta: CertMetadata): Array<{ label: string; last?: Delivery }> {
  return deliveryLabels(meta)
    .map((label) => ({ label, last: meta.deliveries?.[label] }))
    .filter(({ last }) => !last || !last.ok || last.serial !== meta.serial);
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
