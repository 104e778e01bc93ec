import { ExitCode, OpsError, firstLine } from '../../lib/errors.js';

/**
 * What the ACME transport saw last: acme-client keeps only a problem's detail
 * text in its errors, so the transport records the problem documents (type,
 * detail, the URL the CA fetched during validation) and the last network
 * failure, and the translation below turns them into one-line messages.
 */
export interface AcmeProblem {
  type: string;
  detail: string;
  status?: number;
  retryAfter?: string;
  /** For a failed challenge: what the CA fetched (HTTP-01) and the domain. */
  validationUrl?: string;
  hostname?: string;
  instance?: string;
  subproblems?: Array<{ type?: string; detail?: string; identifier?: { value?: string } }>;
}

export interface AcmeTrace {
  problems: AcmeProblem[];
  networkError?: { code?: string; message: string; url?: string };
}

export interface AcmeErrorContext {
  directoryUrl: string;
  email?: string;
  domains: string[];
  challenge?: string;
  /** --eab-kid/--eab-hmac-key were given (a new account is bound with them). */
  eab?: boolean;
  now?: () => Date;
}

const P = 'urn:ietf:params:acme:error:';

export function translateAcmeError(err: unknown, trace: AcmeTrace, ctx: AcmeErrorContext): OpsError {
  if (err instanceof OpsError) return err;
  const msg = firstLine(err);
  // An AWS SDK error from the Route 53 challenge, not the CA.
  if (err && typeof err === 'object' && '$metadata' in err) {
    return new OpsError(`Route 53 call failed (${(err as unknown as Error).name}): ${msg}`, { hint: 'check the credentials, the region/profile and --hosted-zone-id', code: 'route53-failed', cause: err });
  }
  const problem = [...trace.problems].reverse().find((p) => p.detail && (msg.includes(p.detail.replace(/\n/g, '')) || p.detail.includes(msg))) ?? trace.problems[trace.problems.length - 1];

  // acme-client 5.4.0, after its last retry of a request that got no response
  // (TLS failure, refused connection), reads `response.config` of undefined.
  if (err instanceof TypeError && /reading 'config'|of undefined/.test(msg)) {
    return unreachable(ctx.directoryUrl, trace.networkError, err);
  }
  if (problem && msg && (problem.detail === msg || msg.includes(problem.detail.replace(/\n/g, '')) || problem.detail.includes(msg))) {
    return fromProblem(problem, ctx, err);
  }
  if (/Attempting to read ACME directory returned error (\d+)/.test(msg) || /no data/.test(msg)) {
    return new OpsError(`${ctx.directoryUrl} is not an ACME directory (${msg.replace(/^Attempting to read ACME directory returned /, '')}).`, {
      hint: 'check --directory: it is the directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory',
      exitCode: ExitCode.USAGE,
      code: 'acme-bad-directory',
      cause: err,
    });
  }
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno && /^(E[A-Z]+|ERR_|CERT_|UNABLE_|DEPTH_|SELF_)/.test(errno)) return unreachable(ctx.directoryUrl, { code: errno, message: msg }, err);
  return new OpsError(`ACME request to ${host(ctx.directoryUrl)} failed: ${msg}`, { hint: 're-run with --debug for the full ACME exchange', code: 'acme-failed', cause: err });
}

function unreachable(directoryUrl: string, net: AcmeTrace['networkError'], cause: unknown): OpsError {
  const text = net ? firstLine(net.message).replace(/[.:\s]+$/, '') : 'no response';
  const what = net?.code && !text.includes(net.code) ? `${net.code}: ${text}` : text;
  const certProblem = /CERT|SELF_SIGNED|UNABLE_TO|DEPTH_ZERO|ALTNAME/i.test(`${net?.code} ${net?.message}`);
  const notTls = /wrong version number|packet length too long/i.test(net?.message ?? '');
  const hint = certProblem
    ? "its TLS certificate is not trusted here: pass --ca-bundle FILE (or set NODE_EXTRA_CA_CERTS) for a private CA, or check the machine's clock and CA certificates"
    : notTls
      ? 'that address does not speak TLS: check the scheme and port of --directory'
      : 'check the network, a proxy, and --directory/--staging; the CA may also be down (status: https://letsencrypt.status.io)';
  return new OpsError(`Cannot reach the ACME server ${host(directoryUrl)}: ${what}.`, { hint, code: certProblem || notTls ? 'acme-tls' : 'acme-unreachable', cause });
}

function fromProblem(p: AcmeProblem, ctx: AcmeErrorContext, cause: unknown): OpsError {
  const type = p.type.startsWith(P) ? p.type.slice(P.length) : p.type;
  const detail = p.detail.replace(/\s+/g, ' ').trim();
  const failed = (cause as { acmeItem?: { domain: string; token: string }; challengeType?: string }) ?? {};
  const domain = failed.acmeItem?.domain ?? p.hostname ?? p.subproblems?.[0]?.identifier?.value ?? ctx.domains[0];
  if (!p.validationUrl && failed.acmeItem) {
    p = {
      ...p,
      validationUrl:
        failed.challengeType === 'dns-01'
          ? `TXT _acme-challenge.${failed.acmeItem.domain.replace(/^\*\./, '')}`
          : `http://${failed.acmeItem.domain}/.well-known/acme-challenge/${failed.acmeItem.token}`,
    };
  }
  switch (type) {
    case 'rateLimited': {
      const when = retryTime(p.retryAfter, ctx.now?.() ?? new Date());
      return new OpsError(`The CA is rate-limiting these requests${when ? `; retry after ${when}` : ''}: ${detail}`, {
        hint: "test with --staging (it has far higher limits); see https://letsencrypt.org/docs/rate-limits/",
        code: 'acme-rate-limited',
        cause,
      });
    }
    case 'unauthorized':
      // No challenge was being validated: the account request itself was refused (a wrong EAB key or kid).
      if (!failed.acmeItem && !p.validationUrl && !p.hostname && !p.subproblems?.length) {
        return ctx.eab
          ? new OpsError(`The CA refused the external account binding: ${detail}`, { hint: "check --eab-kid and --eab-hmac-key against the CA's account page (each pair binds one account; make a new pair if it was used)", exitCode: ExitCode.USAGE, code: 'acme-eab', cause })
          : new OpsError(`The CA refused the account request (unauthorized): ${detail}`, { hint: 're-run with --debug for the ACME exchange', code: 'acme-unauthorized-account', cause });
      }
      return validationFailed(p, domain, detail, ctx, cause);
    case 'incorrectResponse':
    case 'connection':
    case 'tls':
      return validationFailed(p, domain, detail, ctx, cause);
    case 'dns':
      return new OpsError(`DNS problem for ${domain}: ${detail}`, {
        hint: ctx.challenge === 'dns' ? 'check that the hosted zone is the one the domain is delegated to (its NS records)' : `check that ${domain} has an A/AAAA record pointing at the server that answers the challenge`,
        code: 'acme-dns',
        cause,
      });
    case 'caa':
      return new OpsError(`CAA records of ${domain} forbid this CA from issuing: ${detail}`, {
        hint: `add a CAA record allowing it, e.g. ${domain}. CAA 0 issue "letsencrypt.org"`,
        code: 'acme-caa',
        cause,
      });
    case 'invalidContact':
    case 'unsupportedContact':
      return new OpsError(`The CA rejected the account email ${ctx.email ?? ''}: ${detail}`.replace('  ', ' '), {
        hint: 'pass a real, deliverable address with --email (example.com and similar are refused)',
        exitCode: ExitCode.USAGE,
        code: 'acme-bad-email',
        cause,
      });
    case 'userActionRequired':
      return new OpsError(`The CA requires an action on the account first: ${detail}`, {
        hint: p.instance ? `open ${p.instance} (usually new terms of service to accept), then retry` : 'the terms of service probably changed: review and accept them, then retry',
        code: 'acme-tos',
        cause,
      });
    case 'rejectedIdentifier':
      return new OpsError(`The CA will not issue for ${domain}: ${detail}`, { hint: 'public CAs refuse internal names, IPs and blocked domains', exitCode: ExitCode.USAGE, code: 'acme-rejected-identifier', cause });
    case 'accountDoesNotExist':
      return new OpsError(`The ACME account no longer exists: ${detail}`, { hint: 'remove the account files under <cert-dir>/.accounts and retry to register a new one', code: 'acme-account', cause });
    case 'externalAccountRequired':
      return new OpsError(`This CA requires external account binding: ${detail}`, { hint: 'pass --eab-kid and --eab-hmac-key from the CA\'s account page (ZeroSSL: Developer → EAB credentials; Google: gcloud publicca external-account-keys create)', exitCode: ExitCode.USAGE, code: 'acme-eab', cause });
    default:
      return new OpsError(`The CA refused the request (${type}): ${detail}`, { hint: 're-run with --debug for the ACME exchange', code: 'acme-' + type.replace(/[^A-Za-z]/g, '').toLowerCase(), cause });
  }
}

function validationFailed(p: AcmeProblem, domain: string | undefined, detail: string, ctx: AcmeErrorContext, cause: unknown): OpsError {
  const fetched = p.validationUrl ? `: it ${p.validationUrl.startsWith('TXT') ? 'looked up' : 'fetched'} ${p.validationUrl} and got: ${detail}` : `: ${detail}`;
  return new OpsError(`The CA could not validate ${domain}${fetched}`, { hint: validationHint(ctx.challenge), code: 'acme-unauthorized', cause });
}

function validationHint(challenge: string | undefined): string {
  switch (challenge) {
    case 'webroot':
      return 'check that the web server serves --webroot at /.well-known/acme-challenge/ over plain HTTP on port 80 for every domain';
    case 'standalone':
      return 'check that port 80 of every domain reaches this machine (and nothing else holds it), or use --webroot';
    case 'heroku':
      return 'check that the app answers /.well-known/acme-challenge/:token with ENV["LETSENCRYPT_CHALLENGE"] (see `opsctl cert issue --help`) and that the domain points at the app';
    case 'dns':
      return 'check that the TXT record went into the zone the domain is delegated to (its NS records), and that the DNS provider publishes it';
    default:
      return 'check that the domains point at the server answering the challenge';
  }
}

function retryTime(header: string | undefined, now: Date): string | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  const at = Number.isFinite(secs) ? new Date(now.getTime() + secs * 1000) : new Date(header);
  if (Number.isNaN(at.getTime())) return undefined;
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
