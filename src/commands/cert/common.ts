import path from 'node:path';
import type { Context } from '../../lib/context.js';
import { createHerokuApi, herokuToken } from './heroku.js';
import type { CertDeps } from './obtain.js';
import { CertStore, defaultCertRoot } from './store.js';

/** --cert-dir > OPSCTL_CERT_CERT_DIR > config cert.certDir > <config home>/certs. */
export function certRoot(opts: Record<string, any>, ctx: Context): string {
  const dir = ctx.setting<string>('cert', 'certDir', opts.certDir) ?? defaultCertRoot(ctx.env);
  return path.resolve(dir);
}

/** The real side effects for a handler; tests build their own CertDeps. */
export function certDeps(opts: Record<string, any>, ctx: Context): CertDeps {
  return {
    store: new CertStore(certRoot(opts, ctx)),
    env: ctx.env,
    aws: ctx.aws,
    now: () => new Date(),
    log: (m) => ctx.out.info(m),
    warn: (m) => ctx.out.warn(m),
    debug: (m) => ctx.out.debug(m),
    signal: ctx.signal,
    herokuApi: async () => createHerokuApi({ token: await herokuToken(ctx.env), baseUrl: ctx.env.HEROKU_API_URL || undefined }),
  };
}
