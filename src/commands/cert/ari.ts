import https from 'node:https';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomInt, X509Certificate } from 'node:crypto';
import type { AriState } from './store.js';

/**
 * ACME Renewal Information (RFC 9773): the CA says when to renew each
 * certificate (a window; earlier after a mass revocation), and renewals inside
 * it are exempt from rate limits. The certificate is named by its CertID:
 * base64url(AKI keyIdentifier) "." base64url(serial as DER INTEGER contents).
 */
export function ariCertId(pem: string): string {
  const der = new X509Certificate(pem).raw;
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.start);
  let p = tbs.start;
  let el = readTlv(der, p);
  if (el.tag === 0xa0) {
    p = el.end;
    el = readTlv(der, p);
  }
  if (el.tag !== 0x02) throw new Error('certificate has no serial number');
  const serial = der.subarray(el.start, el.end);
  const aki = authorityKeyId(der, tbs.start, tbs.end);
  if (!aki) throw new Error('certificate has no Authority Key Identifier');
  return `${aki.toString('base64url')}.${Buffer.from(serial).toString('base64url')}`;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  return { tag, start, end: start + len };
}

const AKI_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);

/** The keyIdentifier [0] of the authorityKeyIdentifier extension, found within tbsCertificate. */
function authorityKeyId(der: Buffer, from: number, to: number): Buffer | undefined {
  const at = der.indexOf(AKI_OID, from);
  if (at < 0 || at > to) return undefined;
  let p = at + AKI_OID.length;
  let el = readTlv(der, p);
  if (el.tag === 0x01) {
    p = el.end;
    el = readTlv(der, p);
  }
  if (el.tag !== 0x04) return undefined;
  const seq = readTlv(der, el.start);
  const first = readTlv(der, seq.start);
  return first.tag === 0x80 ? der.subarray(first.start, first.end) : undefined;
}

export interface RenewalInfo {
  start: string;
  end: string;
  explanationURL?: string;
  /** When to ask again (Retry-After), ISO time. */
  nextFetch: string;
}

/** GET JSON from the CA with its extra CA bundle (no JWS: directory and renewalInfo are public). */
export async function getJson(url: string, caBundle: string | undefined, timeoutMs = 10_000): Promise<{ status: number; body: any; retryAfter?: string }> {
  const ca = caBundle ? [...(await import('node:tls')).rootCertificates, await readFile(caBundle, 'utf8')] : undefined;
  const u = new URL(url);
  const mod = u.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.get(u, { ...(ca && u.protocol === 'https:' ? { ca } : {}), timeout: timeoutMs, headers: { 'User-Agent': 'opsctl' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: any;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] as string | undefined });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on('error', reject);
  });
}

export async function fetchRenewalInfo(renewalInfoUrl: string, certPem: string, caBundle: string | undefined, now: Date): Promise<RenewalInfo | undefined> {
  const url = `${renewalInfoUrl.replace(/\/$/, '')}/${ariCertId(certPem)}`;
  const r = await getJson(url, caBundle);
  const w = r.body?.suggestedWindow;
  if (r.status !== 200 || !w || Number.isNaN(Date.parse(w.start)) || Number.isNaN(Date.parse(w.end)) || Date.parse(w.end) < Date.parse(w.start)) return undefined;
  return { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString(), ...(typeof r.body.explanationURL === 'string' ? { explanationURL: r.body.explanationURL } : {}), nextFetch: new Date(now.getTime() + retryAfterMs(r.retryAfter, now)).toISOString() };
}

/** Retry-After in seconds or as an HTTP date; 6 hours when absent (RFC 9773 §4.3 suggests polling about that often). */
export function retryAfterMs(value: string | undefined, now: Date): number {
  const SIX_HOURS = 6 * 3_600_000;
  if (!value) return SIX_HOURS;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, 7 * 86_400_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? SIX_HOURS : Math.max(0, at - now.getTime());
}

/**
 * The stored ARI state with a new window: a renewal time picked at random
 * inside it (so a fleet spreads out), kept while the window stays the same.
 */
export function withWindow(prev: AriState | undefined, info: RenewalInfo, pick: (lo: number, hi: number) => number = (lo, hi) => (hi > lo ? randomInt(0, Math.min(hi - lo, 2 ** 47)) + lo : lo)): AriState {
  if (prev && prev.start === info.start && prev.end === info.end) return { ...prev, nextFetch: info.nextFetch, explanationURL: info.explanationURL };
  const at = pick(Date.parse(info.start), Date.parse(info.end));
  return { ...info, renewAt: new Date(at).toISOString() };
}
