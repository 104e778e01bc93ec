import path from 'node:path';
import type { Context } from '../../lib/context.js';
import { ExitCode, OpsError } from '../../lib/errors.js';
import { createHerokuApi, herokuToken } from './heroku.js';
import type { CertDeps } from './obtain.js';
import { CertStore, defaultCertRoot } from './store.js';

/** --cert-dir > OPSCTL_CERT_CERT_DIR > config cert.certDir > <config home>/certs. */
export function certRoot(opts: { certDir?: string }, ctx: Pick<Context, 'setting' | 'env'>): string {
  const dir = ctx.setting<string>('cert', 'certDir', opts.certDir) ?? defaultCertRoot(ctx.env);
  return path.resolve(dir);
}

/** The real side effects for a handler; tests build their own CertDeps. */
export function certDeps(opts: { certDir?: string }, ctx: Context, signal: AbortSignal = ctx.signal): CertDeps & { runner: Context['runner'] } {
  return {
    runner: ctx.runner,
    store: new CertStore(certRoot(opts, ctx)),
    env: ctx.env,
    aws: ctx.aws,
    now: () => new Date(),
    log: (m) => ctx.out.info(m),
    warn: (m) => ctx.out.warn(m),
    debug: (m) => ctx.out.debug(m),
    signal,
    herokuApi: async () => createHerokuApi({ token: await herokuToken(ctx.env), baseUrl: ctx.env.HEROKU_API_URL || undefined }),
  };
}

/**
 * systemd stops a service with SIGTERM: a renewal must then clean up exactly
 * as after Ctrl-C (webroot files and directories, Heroku config vars, DNS
 * records) instead of dying with them in place. A second SIGTERM exits at once.
 */
export async function withTermination<T>(signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let terms = 0;
  const onTerm = () => {
    terms += 1;
    if (terms > 1) process.exit(ExitCode.INTERRUPTED);
    controller.abort(new OpsError('Terminated (SIGTERM); in-flight challenges were cleaned up.', { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' }));
  };
  process.on('SIGTERM', onTerm);
  const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  try {
    return await work(combined);
  } finally {
    process.off('SIGTERM', onTerm);
  }
}
