import { OpsError, firstLine } from '../../lib/errors.js';
import type { ProcessRunner } from '../../lib/process.js';
import type { CertMetadata } from './store.js';

export type HookKind = 'pre' | 'post' | 'deploy';

export interface HookDeps {
  runner: ProcessRunner;
  env: NodeJS.ProcessEnv;
  log: (m: string) => void;
  signal?: AbortSignal;
}

/**
 * Run a hook the way certbot does: the command line the user configured,
 * through /bin/sh -c (it is theirs: pipes, `&&` and quoting mean what they
 * typed). Nothing from the CA, an API or a file is put into the command line:
 * the certificate's paths and names reach it only through the environment
 * (RENEWED_LINEAGE, RENEWED_DOMAINS as certbot sets them for deploy hooks).
 */
export async function runHook(kind: HookKind, command: string, meta: Pick<CertMetadata, 'name' | 'domains'>, lineage: string, deps: HookDeps): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...deps.env, OPSCTL_CERT_NAME: meta.name };
  if (kind === 'deploy') {
    env.RENEWED_LINEAGE = lineage;
    env.RENEWED_DOMAINS = meta.domains.join(' ');
  }
  deps.log(`running ${kind}-hook for ${meta.name}: ${command}`);
  const r = await deps.runner.run({ file: '/bin/sh', args: ['-c', command], env, timeoutMs: 600_000, signal: deps.signal });
  if (r.exitCode !== 0) {
    const why = firstLine(r.stderr.trim() || r.stdout.trim() || (r.signal ? `killed by ${r.signal}` : 'no output'));
    throw new OpsError(`The ${kind}-hook of ${meta.name} failed (exit ${r.exitCode}): ${why}`, {
      hint: kind === 'deploy' ? 'fix the hook; `opsctl cert renew` runs it again until it succeeds' : `run \`${command}\` by hand to see why`,
      code: `${kind}-hook-failed`,
    });
  }
}

/**
 * certbot runs each distinct pre-hook once per run, before the first
 * certificate that is renewed, and each post-hook once at the end if its
 * pre-hook side ran (stop nginx once, start it once).
 */
export class HookRun {
  private preRan = new Map<string, Promise<void>>();
  private postQueued: Array<{ command: string; meta: Pick<CertMetadata, 'name' | 'domains'>; lineage: string }> = [];
  constructor(private readonly deps: HookDeps) {}

  async pre(meta: CertMetadata, lineage: string): Promise<void> {
    const cmd = meta.hooks?.pre;
    if (cmd) {
      let p = this.preRan.get(cmd);
      if (!p) {
        p = runHook('pre', cmd, meta, lineage, this.deps);
        this.preRan.set(cmd, p);
      }
      try {
        await p;
      } finally {
        this.queuePost(meta, lineage);
      }
      return;
    }
    this.queuePost(meta, lineage);
  }

  private queuePost(meta: CertMetadata, lineage: string): void {
    const cmd = meta.hooks?.post;
    if (cmd && !this.postQueued.some((q) => q.command === cmd)) this.postQueued.push({ command: cmd, meta, lineage });
  }

  /** Run the queued post-hooks; their failures are returned, not thrown (every one runs). */
  async finish(): Promise<OpsError[]> {
    const errors: OpsError[] = [];
    const queued = this.postQueued;
    this.postQueued = [];
    for (const q of queued) {
      // A post-hook restarts what the pre-hook stopped: it runs even after Ctrl-C.
      await runHook('post', q.command, q.meta, q.lineage, { ...this.deps, signal: undefined }).catch((err) => errors.push(err instanceof OpsError ? err : new OpsError(firstLine(err), { code: 'post-hook-failed' })));
    }
    return errors;
  }
}
