import { randomBytes } from 'node:crypto';
import type { AwsOptions } from '../../lib/aws.js';
import { ExitCode, OpsError, firstLine } from '../../lib/errors.js';
import { formatCommand, shellQuote, type CommandSpec, type ProcessRunner } from '../../lib/process.js';
import { assertSshHost, connectTimeoutFor, resolveSsh, sshCommand, sshFailure } from '../../lib/ssh.js';
import type { HerokuApi, HerokuDomain, HerokuSniEndpoint } from './heroku.js';
import { describeTarget, type CertFiles, type CertMetadata, type PushTarget } from './store.js';

/**
 * Push targets: each computes a plan (steps a human can read, from read-only
 * lookups) and then executes it. `--dry-run` prints the plan only.
 */
export interface PushStep {
  action: string;
  detail: string;
}

export interface PushPlan {
  target: PushTarget;
  label: string;
  steps: PushStep[];
  execute(): Promise<PushTarget>;
}

/** Minimal ACM surface (the SDK client's `send`), so tests can hand in a mock. */
export interface AcmLike {
  send(command: unknown): Promise<any>;
}

export interface PushDeps {
  runner: ProcessRunner;
  herokuApi: () => Promise<HerokuApi>;
  acm?: (region: string | undefined) => Promise<{ client: AcmLike; importCommand: (input: Record<string, unknown>) => unknown }>;
  aws: AwsOptions;
  env: NodeJS.ProcessEnv;
  log: (m: string) => void;
}

export async function planPush(target: PushTarget, meta: CertMetadata, files: CertFiles, deps: PushDeps): Promise<PushPlan> {
  switch (target.type) {
    case 'ssh':
      return planSsh(target, files, deps);
    case 'heroku':
      return planHeroku(target, meta, files, deps);
    case 'acm':
      return planAcm(target, files, deps);
  }
}

// ── ssh ─────────────────────────────────────────────────────────────────────

const REMOTE_FILES: Array<{ file: keyof CertFiles; name: string; mode: string }> = [
  { file: 'privkey', name: 'privkey.pem', mode: '600' },
  { file: 'cert', name: 'cert.pem', mode: '644' },
  { file: 'chain', name: 'chain.pem', mode: '644' },
  { file: 'fullchain', name: 'fullchain.pem', mode: '644' },
];

/**
 * The remote script, fed on stdin to `sh -s` so the private key never shows
 * in a process list: every file goes to a temp file in the same directory
 * (0600 under umask 077, certificates then 0644) and is renamed into place.
 */
export function remoteInstallScript(dir: string, files: CertFiles): string {
  const d = shellQuote(dir);
  const eof = `OPSCTL_PEM_${randomBytes(8).toString('hex')}`;
  const lines = ['set -e', 'umask 077', `mkdir -p -- ${d}`, `tmp=${d}/.opsctl-push-$$`, `trap 'rm -f -- "$tmp".*' EXIT`];
  for (const f of REMOTE_FILES) {
    const content = files[f.file].endsWith('\n') ? files[f.file] : files[f.file] + '\n';
    lines.push(`cat > "$tmp.${f.name}" <<'${eof}'`, content + eof, `chmod ${f.mode} "$tmp.${f.name}"`);
  }
  for (const f of REMOTE_FILES) lines.push(`mv -f -- "$tmp.${f.name}" ${d}/${f.name}`);
  return lines.join('\n') + '\n';
}

/** ssh argv through src/lib/ssh.ts: BatchMode (unattended renewals never prompt), our ConnectTimeout unless the config sets one. */
export async function sshSpecs(target: Extract<PushTarget, { type: 'ssh' }>, runner: ProcessRunner, env?: NodeJS.ProcessEnv): Promise<{ copy: CommandSpec; reload?: CommandSpec }> {
  const resolved = await resolveSsh(runner, target.host, { configFile: target.sshConfig, env });
  const base = { host: target.host, ...(target.sshConfig ? { configFile: target.sshConfig } : {}) };
  const opts = { batchMode: true, connectTimeout: connectTimeoutFor(resolved) };
  const copy = { ...sshCommand(base, { ...opts, remote: ['sh', '-s'] }), timeoutMs: 120_000 };
  // The reload is a command line the user typed for the remote shell: handed over as one word to sh -c.
  const reload = target.reload ? { ...sshCommand(base, { ...opts, noStdin: true, remote: ['sh', '-c', target.reload] }), timeoutMs: 300_000 } : undefined;
  return { copy, reload };
}

async function planSsh(target: Extract<PushTarget, { type: 'ssh' }>, files: CertFiles, deps: PushDeps): Promise<PushPlan> {
  assertSshHost(target.host);
  const { copy: copyArgv, reload } = await sshSpecs(target, deps.runner, deps.env);
  const copy: CommandSpec = { ...copyArgv, input: remoteInstallScript(target.dir, files) };
  const steps: PushStep[] = [
    { action: 'copy', detail: `privkey.pem (0600), cert.pem, chain.pem, fullchain.pem to ${target.host}:${target.dir} (temp file + mv): ${formatCommand(copy)} (files on stdin)` },
  ];
  if (reload) steps.push({ action: 'reload', detail: formatCommand(reload) });
  return {
    target,
    label: describeTarget(target),
    steps,
    async execute() {
      const r = await deps.runner.run(copy);
      if (r.exitCode !== 0) {
        const failure = sshFailure(r, target.host, { configFile: target.sshConfig });
        if (failure) throw failure;
        const why = firstLine(r.stderr.trim() || `exit code ${r.exitCode}`);
        throw new OpsError(`Copying the certificate to ${target.host}:${target.dir} failed: ${why}`, { hint: 'check the remote user may write that directory', code: 'ssh-copy' });
      }
      deps.log(`copied the certificate to ${target.host}:${target.dir}`);
      if (reload) {
        const rr = await deps.runner.run(reload);
        if (rr.exitCode !== 0) {
          const failure = sshFailure(rr, target.host, { configFile: target.sshConfig });
          if (failure) throw failure;
          const why = firstLine(rr.stderr.trim() || rr.stdout.trim() || 'no output');
          throw new OpsError(`The reload command failed on ${target.host} (exit ${rr.exitCode}): ${why}`, {
            hint: `the new files are in ${target.dir}, but the server still serves the old certificate until \`${target.reload}\` succeeds`,
            code: 'ssh-reload',
          });
        }
        deps.log(`ran \`${target.reload}\` on ${target.host}`);
      }
      return target;
    },
  };
}

// ── heroku ──────────────────────────────────────────────────────────────────

/** Does a certificate name (possibly *.x) cover this hostname? */
export function covers(certDomain: string, host: string): boolean {
  if (certDomain === host) return true;
  if (certDomain.startsWith('*.')) {
    const base = certDomain.slice(2);
    return host.endsWith('.' + base) && !host.slice(0, -base.length - 1).includes('.');
  }
  return false;
}

async function planHeroku(target: Extract<PushTarget, { type: 'heroku' }>, meta: CertMetadata, files: CertFiles, deps: PushDeps): Promise<PushPlan> {
  const api = await deps.herokuApi();
  const endpoints: HerokuSniEndpoint[] = await api.listSniEndpoints(target.app);
  const existing =
    endpoints.find((e) => target.sniEndpoint && (e.id === target.sniEndpoint || e.name === target.sniEndpoint)) ??
    endpoints.find((e) => (e.ssl_cert?.cert_domains ?? []).some((d) => meta.domains.includes(d)));
  const appDomains: HerokuDomain[] = await api.listDomains(target.app);
  const custom = appDomains.filter((d) => d.kind !== 'heroku');
  const toLink = custom.filter((d) => meta.domains.some((cd) => covers(cd, d.hostname)) && (!existing || d.sni_endpoint?.id !== existing.id));
  const toAdd = meta.domains.filter((cd) => !custom.some((d) => d.hostname === cd) && !(cd.startsWith('*.') && custom.some((d) => covers(cd, d.hostname))));
  const steps: PushStep[] = [
    existing
      ? { action: 'update', detail: `update SNI endpoint ${existing.name} of ${target.app} with the new certificate` }
      : { action: 'create', detail: `create an SNI endpoint on ${target.app} with the certificate` },
    ...toLink.map((d) => ({ action: 'link', detail: `link domain ${d.hostname} to the SNI endpoint` })),
    ...toAdd.map((h) => ({ action: 'add-domain', detail: `add domain ${h} to ${target.app} with the SNI endpoint` })),
  ];
  const body = { certificate_chain: files.fullchain, private_key: files.privkey };
  return {
    target,
    label: describeTarget(target),
    steps,
    async execute() {
      const ep = existing ? await api.updateSniEndpoint(target.app, existing.id, body) : await api.createSniEndpoint(target.app, body);
      deps.log(`${existing ? 'updated' : 'created'} SNI endpoint ${ep.name} on ${target.app}`);
      for (const d of custom.filter((d) => meta.domains.some((cd) => covers(cd, d.hostname)) && d.sni_endpoint?.id !== ep.id)) {
        await api.linkDomain(target.app, d.hostname, ep.id);
        deps.log(`linked ${d.hostname} to ${ep.name}`);
      }
      for (const h of toAdd) {
        const dom = await api.createDomain(target.app, h, ep.id);
        deps.log(`added ${h} to ${target.app}${dom.cname ? `; point its DNS (CNAME) at ${dom.cname}` : ''}`);
      }
      return { ...target, sniEndpoint: ep.id };
    },
  };
}

// ── acm ─────────────────────────────────────────────────────────────────────

async function planAcm(target: Extract<PushTarget, { type: 'acm' }>, files: CertFiles, deps: PushDeps): Promise<PushPlan> {
  // An ARN names its region; re-importing elsewhere would fail.
  const arnRegion = target.certificateArn?.split(':')[3] || undefined;
  const region = arnRegion ?? target.region ?? deps.aws.region ?? deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION;
  const steps: PushStep[] = [
    target.certificateArn
      ? { action: 'reimport', detail: `re-import over ${target.certificateArn} (listeners using it pick up the new certificate)` }
      : { action: 'import', detail: `import into ACM${region ? ` in ${region}` : ''} as a new certificate` },
  ];
  return {
    target,
    label: describeTarget(target),
    steps,
    async execute() {
      const { client, importCommand } = deps.acm ? await deps.acm(region) : await realAcm(deps, region);
      const input = {
        Certificate: Buffer.from(files.cert),
        PrivateKey: Buffer.from(files.privkey),
        CertificateChain: Buffer.from(files.chain),
        ...(target.certificateArn ? { CertificateArn: target.certificateArn } : {}),
      };
      let arn: string | undefined;
      try {
        const { awsCall } = await import('../../lib/aws.js');
        const out = await awsCall('acm:ImportCertificate', () => client.send(importCommand(input)), { ...deps.aws, region });
        arn = out.CertificateArn;
      } catch (err) {
        throw acmError(err, target.certificateArn);
      }
      if (!arn) throw new OpsError('ACM returned no certificate ARN.', { code: 'acm-failed' });
      deps.log(`${target.certificateArn ? 're-imported' : 'imported'} ${arn}`);
      return { type: 'acm', certificateArn: arn, ...(region ? { region } : {}) };
    },
  };
}

async function realAcm(deps: PushDeps, region: string | undefined) {
  const { ACMClient, ImportCertificateCommand } = await import('@aws-sdk/client-acm');
  const { createAwsClient } = await import('../../lib/aws.js');
  return { client: createAwsClient(ACMClient, 'ACM', { ...deps.aws, region }, deps.env) as AcmLike, importCommand: (input: Record<string, unknown>) => new ImportCertificateCommand(input as any) };
}

function acmError(err: unknown, arn: string | undefined): OpsError {
  if (err instanceof OpsError) return err;
  const name = (err as { name?: string }).name ?? '';
  const msg = firstLine(err);
  if (name === 'ResourceNotFoundException') {
    return new OpsError(`ACM has no certificate ${arn ?? ''}: ${msg}`.replace('  ', ' '), { hint: 'check the ARN and region, or drop --certificate-arn to import a new certificate', exitCode: ExitCode.USAGE, code: 'acm-not-found' });
  }
  if (name === 'LimitExceededException') return new OpsError(`ACM certificate quota reached: ${msg}`, { hint: 're-import over an existing certificate with --certificate-arn, or request a quota increase', code: 'acm-limit' });
  if (name === 'ValidationException' || name === 'InvalidParameterException' || name === 'InvalidArnException') {
    return new OpsError(`ACM rejected the certificate: ${msg}`, { hint: arn ? 'ACM refuses to re-import a certificate for different domains over the same ARN' : 'ACM accepts RSA 2048 and ECDSA P-256/P-384 keys', code: 'acm-invalid' });
  }
  return new OpsError(`Importing into ACM failed: ${msg}`, { code: 'acm-failed', cause: err });
}
