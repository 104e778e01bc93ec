/**
 * The one registry of every opsctl command, option and help text. Each action
 * imports its command module lazily, so `opsctl --help` loads no AWS SDK, ACME,
 * pg or ssh code. A command module exports `command` (src/lib/command.ts):
 * typed options, `run(options, ctx)` returning a result, and a printer; the
 * `--json` branch is taken here, once, for results and failures alike.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { ExitCode, OpsError, firstLine, isOpsError } from './lib/errors.js';
import { Output, type OutputStreams } from './lib/output.js';
import { translateAwsError } from './lib/aws-errors.js';
import type { Context, GlobalOptions } from './lib/context.js';
import type { CommandModule } from './lib/command.js';
import type { ProcessRunner } from './lib/process.js';

/** @deprecated modules not yet on the `command` contract. */
export type Handler = (args: unknown[], opts: Record<string, any>, ctx: Context) => Promise<number | void>;
type Loaded = { command: CommandModule<unknown, unknown> } | { handler: Handler };
type Loader = () => Promise<Loaded>;

export interface CliIO {
  streams: OutputStreams;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  runner?: ProcessRunner;
}

const VERSION = '0.1.0';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const int = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new OpsError(`${name} must be a whole number, got "${value}".`, { exitCode: ExitCode.USAGE, code: 'usage' });
  return n;
};
const num = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new OpsError(`${name} must be a positive number, got "${value}".`, { exitCode: ExitCode.USAGE, code: 'usage' });
  return n;
};
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

/** A command whose implementation has not landed: says so and exits 1. */
const notBuilt = (name: string, issue: number): Loader => async () => ({
  handler: async () => {
    throw new OpsError(`opsctl ${name} is not built yet (tracked in issue #${issue}).`, {
      hint: 'this release cannot do that yet; nothing was changed',
      code: 'not-built',
    });
  },
});

export function buildProgram(state: { run?: { load: Loader; args: unknown[]; opts: Record<string, any>; cmd: Command } } = {}): Command {
  const program = new Command('opsctl');
  const action = (load: Loader) =>
    function (this: Command, ...all: unknown[]) {
      const cmd = all[all.length - 1] as Command;
      const opts = all[all.length - 2] as Record<string, any>;
      state.run = { load, args: all.slice(0, -2), opts, cmd };
    };

  program
    .description("Operations chores in one command each: ECS ssh, Cognito migration, Let's Encrypt certificates, PostgreSQL slow queries, Raspberry Pi audio.")
    .version(VERSION, '-V, --version', 'print the version')
    .option('--profile <name>', 'AWS profile (SSO, shared config and env credentials all work)')
    .option('--region <region>', 'AWS region')
    .option('--json', 'print one JSON document on stdout instead of text')
    .option('--dry-run', 'show what would be done and change nothing')
    .option('-v, --verbose', 'more detail on stderr')
    .option('--debug', 'everything, including stack traces on errors')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .option('--config <path>', 'config file (default $XDG_CONFIG_HOME/opsctl/config.json; OPSCTL_CONFIG)')
    .showSuggestionAfterError(true)
    .addHelpText('after', examples('opsctl pg demo', 'opsctl ecs-ssh web', 'opsctl cert issue -d example.com --email me@example.com --standalone', 'opsctl ecs-ssh web --help'));

  // ── ecs-ssh ────────────────────────────────────────────────────────────────
  program
    .command('ecs-ssh')
    .description('ssh to the EC2 host running an ECS service task and open a shell (or run a command) inside its container')
    .argument('[service]', 'ECS service name')
    .argument('[command...]', 'command to run in the container (after --); default: an interactive shell')
    .option('--cluster <name>', 'ECS cluster (default: config ecs.cluster, or the only cluster)')
    .option('--task <id>', 'task id or ARN when the service runs several')
    .option('--container <name>', 'container name when the task has several')
    .option('--all', 'run COMMAND on every task in turn and report each exit code')
    .option('--list', 'list the tasks (host, container, status, AZ) instead of connecting')
    .option('--print', 'print the resolved target and the exact ssh command instead of running it')
    .option('--ssh-config <path>', 'ssh config file to resolve hosts from (passed to ssh as -F)')
    .option('--user <name>', 'ssh user (default: the alias\'s own, or ec2-user for a bare IP)')
    .option('--public', 'without a matching ssh config alias, connect to the public IP instead of the private one')
    .option('--ssh-option <option>', 'extra ssh -o option, repeatable (e.g. ConnectTimeout=5)', collect)
    .addHelpText('after', examples('opsctl ecs-ssh web', 'opsctl ecs-ssh web --cluster prod -- rails console', "opsctl ecs-ssh web --all -- sh -c 'df -h /'", 'opsctl ecs-ssh web --print --json', 'opsctl ecs-ssh --list'))
    .action(action(() => import('./commands/ecs-ssh/index.js')));

  // ── cognito ────────────────────────────────────────────────────────────────
  const cognito = program.command('cognito').description('move users into Amazon Cognito and verify its tokens');
  cognito
    .command('migrate')
    .description('bulk-migrate users (PostgreSQL, CSV or JSON Lines) into a Cognito user pool, resumably')
    .option('--user-pool-id <id>', 'target user pool (default: config cognito.userPoolId)')
    .option('--from <source>', 'postgres://… URL, a .csv file or a .jsonl file')
    .option('--table <name>', 'source table (PostgreSQL; default users)')
    .option('--query <sql>', 'source query (PostgreSQL), overrides --table')
    .option('--map <column=attribute>', 'map a source column to a Cognito attribute, repeatable', collect)
    .option('--map-file <path>', 'JSON file of {"column": "attribute"} mappings')
    .addOption(new Option('--mode <mode>', 'how users are created').choices(['admin-create', 'import-job']))
    .option('--invite', 'send Cognito invitation emails (default: suppressed)')
    .option('--update', 'update attributes of users that already exist')
    .option('--rate <n>', 'client-side request rate limit per second (default 40)', num('--rate'))
    .option('--concurrency <n>', 'requests in flight at once (default 10)', int('--concurrency'))
    .option('--group <name>', 'add every migrated user to this group, repeatable', collect)
    .option('--group-column <column>', 'source column naming the user\'s groups (comma-separated)')
    .option('--cloudwatch-role-arn <arn>', 'role for import jobs to write CloudWatch logs (import-job mode)')
    .option('--state-file <path>', 'checkpoint file (default under ~/.local/state/opsctl)')
    .option('--rejects <path>', 'CSV of rejected rows with reasons')
    .option('--report <path>', 'file of per-user failures')
    .option('--restart', 'ignore the checkpoint and start over')
    .option('--verify', 'compare source and pool instead of migrating')
    .addHelpText('after', examples('opsctl cognito migrate --user-pool-id eu-west-1_AbC --from postgres://localhost/app_production', 'opsctl cognito migrate --user-pool-id eu-west-1_AbC --from users.csv --dry-run', 'opsctl cognito migrate --user-pool-id eu-west-1_AbC --from postgres://localhost/app --verify'))
    .action(action(() => import('./commands/cognito/migrate/index.js')));
  const trigger = cognito.command('trigger').description('the User Migration Lambda trigger for lazy migration at sign-in');
  trigger
    .command('scaffold')
    .description('write a ready User Migration Lambda handler that checks old bcrypt password hashes')
    .option('--out <dir>', 'output directory')
    .addOption(new Option('--source <kind>', 'where the handler finds old users').choices(['postgres', 'http']).default('postgres'))
    .option('--force', 'overwrite files that already exist in --out')
    .addHelpText('after', examples('opsctl cognito trigger scaffold --out ./user-migration', 'opsctl cognito trigger scaffold --out ./user-migration --source http'))
    .action(action(() => import('./commands/cognito/trigger.js')));
  const token = cognito.command('token').description('Cognito JWTs');
  token
    .command('verify')
    .description("verify an ID or access token against the pool's JWKS")
    .argument('<token>', 'the JWT')
    .option('--user-pool-id <id>', 'user pool that issued it (default: config cognito.userPoolId)')
    .option('--client-id <id>', 'expected app client id (aud / client_id)')
    .addOption(new Option('--token-use <use>', 'expected token_use').choices(['id', 'access']))
    .addHelpText('after', examples('opsctl cognito token verify eyJraWQ… --user-pool-id eu-west-1_AbC --client-id 1example23456789'))
    .action(action(() => import('./commands/cognito/token.js')));

  // ── cert ───────────────────────────────────────────────────────────────────
  const cert = program.command('cert').description("issue, renew and push Let's Encrypt certificates");
  cert
    .command('issue')
    .description('issue a certificate over ACME (Let\'s Encrypt by default)')
    .option('-d, --domain <domain>', 'domain name, repeatable (the first names the certificate)', collect)
    .option('--email <email>', 'ACME account email (default: config cert.email)')
    .option('--staging', "use Let's Encrypt's staging directory")
    .option('--directory <url>', 'any ACME directory URL')
    .option('--webroot <dir>', 'HTTP-01: write the token under DIR/.well-known/acme-challenge/')
    .option('--standalone', 'HTTP-01: serve the token from opsctl itself')
    .option('--http-port <n>', 'port for --standalone (default 80)', int('--http-port'))
    .option('--heroku-app <app>', 'HTTP-01 through the Heroku app\'s LETSENCRYPT_* config vars')
    .addOption(new Option('--dns <provider>', 'DNS-01 challenge provider').choices(['route53']))
    .option('--hosted-zone-id <id>', 'Route 53 hosted zone (default: found from the domain)')
    .addOption(new Option('--key-type <type>', 'certificate key type').choices(['ecdsa-p256', 'rsa-2048', 'rsa-4096']))
    .option('--cert-dir <dir>', 'certificate store root (default ~/.config/opsctl/certs)')
    .option('--ca-bundle <file>', "extra CA certificates (PEM) to trust for the ACME server's API (private CAs)")
    .option('--no-self-check', 'do not fetch the HTTP-01 challenge URL before asking the CA')
    .option('--force', 'issue even if the same certificate is stored and not due for renewal')
    .addHelpText('after', examples('opsctl cert issue -d example.com -d www.example.com --email me@example.com --webroot /var/www/html', 'opsctl cert issue -d example.com --email me@example.com --heroku-app my-app', "opsctl cert issue -d '*.example.com' --email me@example.com --dns route53"))
    .action(action(() => import('./commands/cert/issue.js')));
  cert
    .command('renew')
    .description('renew certificates that expire within a third of their lifetime, and re-push them')
    .option('--all', 'every stored certificate (the default)')
    .option('-d, --domain <domain>', 'the certificate named by this domain', collect)
    .option('--force', 'renew even if not due')
    .option('--days <n>', 'renew when fewer than N days are left', int('--days'))
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert renew --all', 'opsctl cert renew -d example.com --force', 'opsctl cert renew --all --dry-run'))
    .action(action(() => import('./commands/cert/renew.js')));
  cert
    .command('push')
    .description('install a certificate where it is served: heroku, acm or ssh')
    .argument('<target>', 'heroku | acm | ssh')
    .argument('[host]', 'ssh host (for the ssh target)')
    .option('-d, --domain <domain>', 'which certificate (its first domain)')
    .option('--app <app>', 'Heroku app (heroku target)')
    .option('--certificate-arn <arn>', 'ACM certificate to re-import over (acm target)')
    .option('--dir <path>', 'remote directory (ssh target)')
    .option('--reload <command>', 'remote command to run after copying (ssh target)')
    .option('--ssh-config <path>', 'ssh config file for the host (passed to ssh as -F; ssh target)')
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert push heroku -d example.com --app my-app', 'opsctl cert push acm -d example.com', "opsctl cert push ssh web1 -d example.com --dir /etc/ssl/example --reload 'systemctl reload nginx'"))
    .action(action(() => import('./commands/cert/push.js')));
  cert
    .command('list')
    .description('stored certificates with expiry, issuer and push targets')
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert list', 'opsctl cert list --json'))
    .action(action(() => import('./commands/cert/list.js')));

  // ── pg ─────────────────────────────────────────────────────────────────────
  const pg = program.command('pg').description('diagnose slow PostgreSQL queries with EXPLAIN, and prove the fix');
  pg
    .command('explain')
    .description('run EXPLAIN ANALYZE safely, name what is wrong and propose (and verify) the fix')
    .argument('[sql]', 'the query (or -f FILE, or stdin)')
    .option('-f, --file <path>', 'read the query from a file')
    .option('--db <url>', 'connection URL (default: DATABASE_URL or PG* variables)')
    .option('--param <value>', 'value for $1, $2, … in order, repeatable', collect)
    .option('--timeout <seconds>', 'statement_timeout (default 60)', num('--timeout'))
    .option('--allow-writes', 'allow INSERT/UPDATE/DELETE to run (still rolled back)')
    .option('--no-analyze', 'plan only, do not execute the query')
    .option('--lock-timeout <seconds>', 'lock_timeout for --verify real (default 5)', num('--lock-timeout'))
    .option('--set <name=value>', 'a setting for this statement only (SET LOCAL), repeatable, e.g. work_mem=256MB', collect)
    .addOption(new Option('--verify <how>', 'prove the proposed index: hypothetical (HypoPG) or real (rolled back)').choices(['hypo', 'real']))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']))
    .addHelpText('after', examples("opsctl pg explain 'SELECT * FROM events WHERE player_id = 42 ORDER BY created_at DESC LIMIT 1' --db postgres://localhost/app", 'opsctl pg explain -f slow.sql --verify real', "opsctl pg explain 'SELECT * FROM users WHERE email = $1' --param a@b.c", 'opsctl pg explain -f report.sql --set work_mem=256MB --format markdown'))
    .action(action(() => import('./commands/pg/explain.js')));
  pg
    .command('slow')
    .description('the slowest queries from pg_stat_statements, each diagnosed')
    .option('--db <url>', 'connection URL')
    .option('--top <n>', 'how many queries (default 10)', int('--top'))
    .option('--timeout <seconds>', 'statement_timeout for each EXPLAIN (default 60)', num('--timeout'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .addHelpText('after', examples('opsctl pg slow --db postgres://localhost/app --top 5'))
    .action(action(() => import('./commands/pg/slow.js')));
  pg
    .command('demo')
    .description("try it now: an embedded PostgreSQL with the write-up's slow LIMIT 1 query, diagnosed and fixed")
    .option('--rows <n>', 'rows to generate (default 1000000)', int('--rows'))
    .addHelpText('after', examples('opsctl pg demo', 'opsctl pg demo --rows 200000 --json'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']))
    .action(action(() => import('./commands/pg/demo.js')));

  // ── pi audio ───────────────────────────────────────────────────────────────
  const pi = program.command('pi').description('Raspberry Pi chores');
  const audio = pi.command('audio').description('a Bluetooth speaker that plays from boot and reconnects by itself (PulseAudio system mode or PipeWire)');
  const piTarget = (c: Command) =>
    c
      .option('--host <[user@]host>', 'run on this Pi over ssh (honours ~/.ssh/config) instead of locally')
      .option('--root <dir>', 'apply file changes under this root (image builders, tests)')
      .option('--ssh-config <path>', 'ssh config file for --host (passed to ssh as -F; default ~/.ssh/config)');
  piTarget(
    audio
      .command('setup')
      .description('set up Bluetooth audio from boot (PulseAudio system mode, or the PipeWire already there), and optionally pair a speaker')
      .option('--speaker <mac>', 'Bluetooth speaker to pair, trust, and keep connected (retried every 20 s, at boot and after)')
      .option('--user <name>', 'user to add to pulse-access, or whose PipeWire serves the speaker (default: the invoking sudo user)')
      .addOption(new Option('--sound-server <server>', 'auto (PipeWire where installed, else PulseAudio system mode), pulseaudio or pipewire').default('auto'))
      .option('--force', 'with --sound-server pulseaudio: go ahead even if PipeWire is installed (it will be replaced)'),
  )
    .addHelpText('after', examples('sudo opsctl pi audio setup --speaker 00:11:22:33:44:55', 'opsctl pi audio setup --host pi@raspberrypi.local --dry-run', 'sudo opsctl pi audio setup --sound-server pipewire --user pi --speaker 00:11:22:33:44:55'))
    .action(action(() => import('./commands/pi/setup.js')));
  piTarget(audio.command('status').description('check the audio setup, each check as a line (exit 1 when something is wrong)').option('--user <name>', 'also check this user is in pulse-access (default: the invoking sudo user)'))
    .addHelpText('after', examples('opsctl pi audio status', 'opsctl pi audio status --host pi@raspberrypi.local --json'))
    .action(action(() => import('./commands/pi/status.js')));
  piTarget(audio.command('pair').description('power on, pair, trust and connect a speaker, and keep it connected').argument('<mac>', 'speaker MAC address'))
    .addHelpText('after', examples('sudo opsctl pi audio pair 00:11:22:33:44:55'))
    .action(action(() => import('./commands/pi/pair.js')));
  piTarget(audio.command('uninstall').description('remove what setup added and restore the original files'))
    .addHelpText('after', examples('sudo opsctl pi audio uninstall'))
    .action(action(() => import('./commands/pi/uninstall.js')));

  // ── completion ─────────────────────────────────────────────────────────────
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', examples('opsctl completion bash > /etc/bash_completion.d/opsctl', 'opsctl completion zsh > "${fpath[1]}/_opsctl"', 'opsctl completion fish > ~/.config/fish/completions/opsctl.fish'))
    .action(action(() => import('./commands/completion.js')));

  return program;
}

/** Parse argv, run the chosen command, print errors; returns the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const state: Parameters<typeof buildProgram>[0] = {};
  const program = buildProgram(state);
  const streams = io.streams;
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => streams.stdout.write(s),
    writeErr: (s) => streams.stderr.write(s),
    outputError: (s, write) => write(s.startsWith('error:') ? s + 'hint: see `opsctl --help`\n' : s),
  });
  forEachCommand(program, (c) => {
    c.exitOverride();
    c.configureOutput(program.configureOutput());
    c.showSuggestionAfterError(true);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return err.exitCode === 0 ? 0 : ExitCode.USAGE;
      return ExitCode.USAGE;
    }
    // Option parsers (int/num) throw OpsErrors.
    return report(err, new Output(streams, {}), false);
  }
  if (!state.run) return ExitCode.OK;

  const global = state.run.cmd.optsWithGlobals() as GlobalOptions;
  const out = new Output(streams, { json: global.json, color: global.color, verbose: global.verbose, debug: global.debug });
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    out.warn('interrupting… (press Ctrl-C again to force)');
    controller.abort(new OpsError('Interrupted.', { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' }));
  };
  process.on('SIGINT', onSigint);
  try {
    // Both module graphs load at once: their file reads overlap.
    const [{ createContext }, mod] = await Promise.all([import('./lib/context.js'), state.run.load()]);
    const ctx = createContext(global, { streams, stdin: io.stdin, env: io.env, signal: controller.signal, runner: io.runner });
    let code: number | void;
    if ('command' in mod) {
      const command = mod.command;
      const options = command.options(state.run.args, state.run.opts, ctx);
      const result = await command.run(options, ctx);
      if (ctx.out.json) ctx.out.data(result);
      else command.print(result, ctx.out, options);
      code = command.exitCode?.(result, options) ?? ExitCode.OK;
    } else {
      code = await mod.handler(state.run.args, state.run.opts, ctx);
    }
    if (controller.signal.aborted) return ExitCode.INTERRUPTED;
    return typeof code === 'number' ? code : ExitCode.OK;
  } catch (err) {
    if (controller.signal.aborted && !(isOpsError(err) && err.exitCode !== ExitCode.FAILED)) {
      out.error('Interrupted; in-flight work was cleaned up.');
      return ExitCode.INTERRUPTED;
    }
    return report(err, out, Boolean(global.debug));
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function report(err: unknown, out: Output, debug: boolean): number {
  if (isOpsError(err)) {
    out.error(err.message, err.hint);
    if (debug && err.cause instanceof Error && err.cause.stack) out.debug(err.cause.stack);
    if (out.json) out.data({ error: { code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode } });
    return err.exitCode;
  }
  // An AWS error no command translated still gets the shared translation.
  const aws = translateAwsError(err);
  if (aws) return report(aws, out, debug);
  out.error(`unexpected error: ${firstLine(err)}`, debug ? undefined : 're-run with --debug for details');
  if (debug && err instanceof Error && err.stack) out.debug(err.stack);
  if (out.json) out.data({ error: { code: 'unexpected', message: firstLine(err), exitCode: ExitCode.FAILED } });
  return ExitCode.FAILED;
}

export function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  for (const c of cmd.commands) {
    fn(c);
    forEachCommand(c, fn);
  }
}
