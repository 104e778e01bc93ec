import http from 'node:http';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ExitCode, OpsError } from '../../lib/errors.js';
import type { ChallengeItem, ChallengeSolver } from './acme.js';

export const CHALLENGE_PATH = '/.well-known/acme-challenge/';

/**
 * Where opsctl itself fetches http://DOMAIN/.well-known/acme-challenge/TOKEN
 * before asking the CA (or, for Heroku, while waiting for the restart).
 * Tests point it at 127.0.0.1; real use leaves it to DNS and port 80.
 */
export interface SelfCheckOptions {
  /** Connect here instead of resolving the domain (the Host header stays the domain). */
  connectHost?: (domain: string) => string;
  port?: number;
}

export interface FetchResult {
  url: string;
  status?: number;
  body?: string;
  error?: string;
}

/**
 * RFC 8555 §8.1: a token is base64url. It comes from the CA (any server
 * --directory names), and becomes a file name under --webroot, so nothing else may pass.
 */
export function assertSafeToken(token: string): void {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(token)) {
    throw new OpsError(`The ACME server sent a challenge token that is not base64url: ${JSON.stringify(token.slice(0, 80))}.`, {
      hint: 'nothing was written; check that --directory names a trustworthy ACME server',
      code: 'acme-bad-token',
    });
  }
}

export function fetchChallenge(item: Pick<ChallengeItem, 'domain' | 'token'>, opts: SelfCheckOptions = {}, timeoutMs = 5000): Promise<FetchResult> {
  const port = opts.port ?? 80;
  const url = `http://${item.domain}${port === 80 ? '' : ':' + port}${CHALLENGE_PATH}${item.token}`;
  return new Promise((resolve) => {
    const req = http.get(
      { host: opts.connectHost?.(item.domain) ?? item.domain, port, path: CHALLENGE_PATH + item.token, headers: { Host: item.domain, 'User-Agent': 'opsctl-selfcheck' }, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          if (body.length < 4096) body += d;
        });
        res.on('end', () => resolve({ url, status: res.statusCode, body }));
        res.on('error', (e) => resolve({ url, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on('error', (e) => resolve({ url, error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

export function describeFetch(r: FetchResult): string {
  if (r.error) return r.error;
  const body = (r.body ?? '').trim().replace(/\s+/g, ' ');
  return `HTTP ${r.status}${body ? ` "${body.length > 80 ? body.slice(0, 80) + '…' : body}"` : ' (empty body)'}`;
}

export function answers(r: FetchResult, item: ChallengeItem): boolean {
  return r.status === 200 && (r.body ?? '').trim() === item.keyAuthorization;
}

/**
 * Fetch every challenge once; problems are warnings only, because a machine
 * often cannot reach its own public address (NAT without hairpinning) while
 * the CA can.
 */
export async function selfCheck(items: ChallengeItem[], opts: SelfCheckOptions | false, warn: (m: string) => void): Promise<void> {
  if (opts === false) return;
  await Promise.all(
    items.map(async (item) => {
      const r = await fetchChallenge(item, opts, 3000);
      if (!answers(r, item)) warn(`self-check: ${r.url} gave ${describeFetch(r)}, not the key authorization; asking the CA anyway`);
    }),
  );
}

/** --webroot DIR: token files under DIR/.well-known/acme-challenge/, removed afterwards. */
export function webrootSolver(webroot: string, check: SelfCheckOptions | false, warn: (m: string) => void): ChallengeSolver {
  const dir = path.join(webroot, ...CHALLENGE_PATH.split('/').filter(Boolean));
  const created: string[] = [];
  return {
    name: 'webroot',
    challengeType: 'http-01',
    batchSize: Infinity,
    async prepare() {
      try {
        const st = await fsp.stat(webroot);
        if (!st.isDirectory()) throw new Error('not a directory');
      } catch (err) {
        throw new OpsError(`Webroot ${webroot} is not a usable directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
          hint: 'pass the directory your web server serves for these domains (its document root)',
          exitCode: ExitCode.USAGE,
          code: 'bad-webroot',
        });
      }
    },
    async present(items) {
      // Remember which directories we create, to remove them (only if empty) afterwards.
      let p = webroot;
      for (const part of ['.well-known', 'acme-challenge']) {
        p = path.join(p, part);
        try {
          await fsp.mkdir(p, { mode: 0o755 });
          created.push(p);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw webrootError(webroot, err);
        }
      }
      items.forEach((i) => assertSafeToken(i.token));
      for (const item of items) {
        try {
          // World-readable on purpose: the web server (often another user) serves it.
          await fsp.writeFile(path.join(dir, item.token), item.keyAuthorization, { mode: 0o644 });
        } catch (err) {
          throw webrootError(webroot, err);
        }
      }
      await selfCheck(items, check, warn);
    },
    async cleanup(items) {
      await Promise.all(items.map((i) => fsp.rm(path.join(dir, i.token), { force: true })));
      for (const d of [...created].reverse()) await fsp.rmdir(d).catch(() => {});
      created.length = 0;
    },
  };
}

function webrootError(webroot: string, err: unknown): OpsError {
  return new OpsError(`Cannot write the challenge under ${webroot}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
    hint: 'run as a user that can write to the webroot (often root or www-data)',
    code: 'webroot-unwritable',
  });
}

/** --standalone: opsctl serves the challenges itself on --http-port for the duration. */
export function standaloneSolver(port: number, check: SelfCheckOptions | false, warn: (m: string) => void, bindHost?: string): ChallengeSolver {
  // Probe where the challenge is served (--http-port, behind a forward from 80), not port 80.
  const probe: SelfCheckOptions | false = check === false ? false : { ...check, port: check.port ?? port };
  const answersByToken = new Map<string, string>();
  let server: http.Server | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const srv = http.createServer((req, res) => {
        const url = req.url ?? '';
        const token = url.startsWith(CHALLENGE_PATH) ? url.slice(CHALLENGE_PATH.length).split('?')[0]! : undefined;
        const answer = token ? answersByToken.get(token) : undefined;
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405).end();
        } else if (answer) {
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(answer) }).end(req.method === 'HEAD' ? undefined : answer);
        } else {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        }
      });
      srv.keepAliveTimeout = 1000;
      srv.once('error', (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'EADDRINUSE'
            ? `another program holds port ${port} (a web server?): stop it for the duration, or use --webroot with its document root`
            : err.code === 'EACCES'
              ? `ports below 1024 need root (or CAP_NET_BIND_SERVICE); or forward port 80 to a high --http-port`
              : undefined;
        reject(new OpsError(`Cannot listen on port ${port} for the standalone challenge: ${err.code ?? err.message}.`, { hint, code: 'standalone-listen' }));
      });
      srv.listen(port, bindHost, () => {
        server = srv;
        resolve();
      });
    });
  return {
    name: 'standalone',
    challengeType: 'http-01',
    batchSize: Infinity,
    async prepare() {
      if (!server) await start();
    },
    async present(items) {
      for (const i of items) answersByToken.set(i.token, i.keyAuthorization);
      if (!server) await start();
      await selfCheck(items, probe, warn);
    },
    async cleanup(items) {
      for (const i of items) answersByToken.delete(i.token);
    },
    async close() {
      const srv = server;
      server = undefined;
      if (!srv) return;
      await new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      });
    },
  };
}
