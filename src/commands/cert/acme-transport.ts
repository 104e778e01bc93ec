import https from 'node:https';
import { readFile } from 'node:fs/promises';
import axios from 'axios';
import { ExitCode, OpsError } from '../../lib/errors.js';
import { translateAcmeError, type AcmeProblem, type AcmeTrace } from './acme-errors.js';

/**
 * acme-client's transport, loaded lazily and instrumented once: problem
 * documents recorded for error translation, no retries of hopeless requests,
 * an extra CA bundle, and retry settings.
 */
type AcmeModule = typeof import('acme-client');

export interface AcmeTransportOptions {
  /** PEM bundle of extra CAs trusted for the ACME API (private CAs, Pebble). */
  caBundle?: string;
  /** acme-client's retries of failed requests: attempts and base delay in seconds. */
  retryAttempts?: number;
  retryDelaySeconds?: number;
  /** Give up once the CA has not answered for this long (default 25 s): certbot and lego fail in seconds, not minutes. */
  unreachableMs?: number;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
}

/**
 * The CA stopped answering: every request since `since` failed at the network
 * level. acme-client retries such requests and polls through them with its
 * backoff (minutes); this watchdog ends the issuance instead.
 */
interface Watchdog {
  timer?: NodeJS.Timeout;
  /** What the last failed request got (ECONNREFUSED, HTTP 503). */
  last?: string;
  limitMs: number;
  onDead?: (err: OpsError) => void;
}
export const watchdog: Watchdog = { limitMs: 25_000 };

let acmeModule: AcmeModule | undefined;
export const trace: AcmeTrace = { problems: [] };
let debugSink: ((m: string) => void) | undefined;

export function setDebugSink(fn: ((m: string) => void) | undefined): void {
  debugSink = fn;
}

/** acme-client is loaded only by the cert commands that talk to a CA. */
export async function loadAcme(): Promise<AcmeModule> {
  if (acmeModule) return acmeModule;
  const mod = (await import('acme-client')) as AcmeModule & { default?: AcmeModule };
  acmeModule = (mod.default ?? mod) as AcmeModule;
  instrumentTransport(acmeModule);
  acmeModule.setLogger((m) => debugSink?.(`acme: ${m}`));
  return acmeModule;
}

const PERMANENT_TLS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/**
 * Wrap acme-client's axios adapter: record problem documents (acme-client
 * keeps only their detail), fail fast on certificate-verification errors
 * (retrying cannot fix them) and on long rate-limit waits (acme-client would
 * sleep through a Retry-After of hours).
 */
function instrumentTransport(acme: AcmeModule): void {
  const instance = acme.axios as unknown as { defaults: Record<string, any> };
  const http = axios.getAdapter('http');
  instance.defaults.adapter = async (config: any) => {
    let resp: any;
    try {
      resp = await http(config);
    } catch (err) {
      // acme-client makes axios reject every response (validateStatus () => false), so answers land here too.
      const e = err as { code?: string; message?: string; cause?: { code?: string }; response?: any };
      if (e.response) {
        answered(e.response, config);
        inspectResponse(e.response, config);
        throw err;
      }
      const code = e.cause?.code ?? e.code;
      trace.networkError = { code, message: String(e.message ?? err), url: config?.url };
      wentQuiet(config, code ?? 'no response');
      if (code && PERMANENT_TLS.has(code)) {
        // No `config` on the error: acme-client's retry interceptor passes it straight through.
        throw new OpsError(`Cannot reach the ACME server ${safeHost(config?.url)}: ${code}: ${e.message}.`, {
          hint: 'its TLS certificate is not trusted here: pass --ca-bundle FILE (or set NODE_EXTRA_CA_CERTS) for a private CA, or check the clock and CA certificates',
          code: 'acme-tls',
        });
      }
      throw err;
    }
    answered(resp, config);
    inspectResponse(resp, config);
    return resp;
  };
}

/** A 5xx is a CA that is down too; any other answer means it is back. */
function answered(resp: any, config: any): void {
  if (resp?.status >= 500) return wentQuiet(config, `HTTP ${resp.status}`);
  if (watchdog.timer) {
    clearTimeout(watchdog.timer);
    watchdog.timer = undefined;
  }
}

function wentQuiet(config: any, what: string): void {
  watchdog.last = what;
  if (watchdog.timer || !watchdog.onDead) return;
  const started = Date.now();
  watchdog.timer = setTimeout(() => {
    watchdog.timer = undefined;
    watchdog.onDead?.(
      new OpsError(`The ACME server ${safeHost(config?.url)} stopped answering (${watchdog.last} for ${Math.round((Date.now() - started) / 1000)} s); nothing was stored.`, {
        hint: "the current certificate is untouched; try again later, check the network or the CA status page (Let's Encrypt: https://letsencrypt.status.io)",
        code: 'acme-unreachable',
      }),
    );
  }, watchdog.limitMs);
  watchdog.timer.unref();
}

function inspectResponse(resp: any, config: any): void {
  recordProblem(resp);
  if (resp?.status === 429) {
    const retryAfter = String(resp.headers?.['retry-after'] ?? '');
    const secs = Number(retryAfter);
    if (!retryAfter || !Number.isFinite(secs) || secs > 30) {
      const p = trace.problems[trace.problems.length - 1];
      const e = translateAcmeError(new Error(p?.detail ?? 'rate limited'), trace, { directoryUrl: config?.url ?? '', domains: [] });
      throw e;
    }
  }
}

function recordProblem(resp: any): void {
  // The adapter sees the raw body: axios parses JSON only after it.
  let data = resp?.data;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(String(data));
    } catch {
      return;
    }
  }
  if (!data || typeof data !== 'object') return;
  const retryAfter = resp.headers?.['retry-after'] ? String(resp.headers['retry-after']) : undefined;
  if (typeof data.type === 'string' && data.type.includes(':error:')) {
    trace.problems.push({ type: data.type, detail: String(data.detail ?? ''), status: resp.status, retryAfter, instance: data.instance, subproblems: data.subproblems });
  } else if (data.status === 'invalid' && data.error && typeof data.error.type === 'string') {
    // A failed challenge: the error plus what the CA fetched.
    const rec = Array.isArray(data.validationRecord) ? data.validationRecord[0] : undefined;
    trace.problems.push({ type: data.error.type, detail: String(data.error.detail ?? ''), status: resp.status, validationUrl: rec?.url, hostname: rec?.hostname, subproblems: data.error.subproblems });
  }
}

export function safeHost(url: string | undefined): string {
  try {
    return new URL(url ?? '').host;
  } catch {
    return String(url);
  }
}

export async function configureTransport(acme: AcmeModule, opts: AcmeTransportOptions): Promise<void> {
  const instance = acme.axios as unknown as { defaults: Record<string, any> };
  instance.defaults.acmeSettings.retryMaxAttempts = opts.retryAttempts ?? 3;
  instance.defaults.acmeSettings.retryDefaultDelay = opts.retryDelaySeconds ?? 2;
  instance.defaults.timeout = opts.requestTimeoutMs ?? 10_000;
  watchdog.limitMs = opts.unreachableMs ?? 25_000;
  if (opts.caBundle) {
    let ca: Buffer;
    try {
      ca = await readFile(opts.caBundle);
    } catch (err) {
      throw new OpsError(`Cannot read the CA bundle ${opts.caBundle}: ${(err as Error).message}`, { exitCode: ExitCode.USAGE, code: 'bad-ca-bundle' });
    }
    // Trust the bundle in addition to the system roots.
    const { rootCertificates } = await import('node:tls');
    instance.defaults.httpsAgent = new https.Agent({ ca: [...rootCertificates, ca.toString('utf8')], keepAlive: true, noDelay: true } as https.AgentOptions);
  } else {
    // noDelay: a JWS POST goes out as header + body writes; with Nagle each waits for a delayed ACK.
    instance.defaults.httpsAgent = new https.Agent({ keepAlive: true, noDelay: true } as https.AgentOptions);
  }
}

