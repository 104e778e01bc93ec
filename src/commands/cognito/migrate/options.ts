/** commander's flags (and config) → typed, checked MigrateOptions. Bad input is a usage error (exit 2). */
import { readFileSync } from 'node:fs';
import type { Context } from '../../../lib/context.js';
import { flag, type Flags } from '../../../lib/command.js';
import { usageError } from '../../../lib/errors.js';
import { parseMapFlags } from './mapping.js';
import { HASH_ALGORITHMS, type HashAlgorithm } from './rules.js';
import { parseWriteBack, type WriteBackTarget } from './write-back.js';

export interface MigrateOptions {
  userPoolId: string;
  from: string;
  table?: string;
  query?: string;
  map: Array<[string, string]>;
  mode: 'admin-create' | 'import-job';
  invite: boolean;
  update: boolean;
  rate: number;
  concurrency: number;
  groups: string[];
  groupColumn?: string;
  stateFile?: string;
  rejects?: string;
  report?: string;
  links?: string;
  writeBack?: WriteBackTarget;
  restart: boolean;
  dryRun: boolean;
  verify: boolean;
  repair?: boolean;
  cloudwatchRoleArn?: string;
  passwordHash?: { algorithm: HashAlgorithm; column?: string };
  pepperConfigured?: boolean;
  phoneCountry?: string;
  unconfirmed?: 'admin-create' | 'skip';
}

/** Devise's initializer sets a pepper when a `config.pepper = …` line is not commented out (nil means none). */
export function deviseConfigHasPepper(text: string): boolean {
  return /^\s*config\.pepper\s*=\s*(?!nil\b)\S/m.test(text);
}

function readText(file: string, what: string, code: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, undefined, code);
  }
}

export function resolveOptions(flags: Flags, ctx: Context): MigrateOptions {
  const str = (name: string) => flag.string(flags, name);
  const userPoolId = ctx.setting('cognito', 'userPoolId', str('userPoolId'));
  if (!userPoolId) throw usageError('No user pool given.', 'pass --user-pool-id (or set cognito.userPoolId in the config file)', 'usage');
  // The API's own pattern for UserPoolId: refused here instead of after a round trip (or SDK retries) per call.
  if (!/^[\w-]+_[0-9a-zA-Z]+$/.test(userPoolId) || userPoolId.length > 55) throw usageError(`"${userPoolId.slice(0, 60)}" is not a user pool id.`, 'pool ids look like eu-west-1_AbCdEf123 (region, underscore, id)', 'usage');
  const from = ctx.setting('cognito', 'from', str('from'));
  if (!from) throw usageError('No source given.', 'pass --from postgres://…, --from users.csv or --from users.jsonl', 'usage');
  let mapFile: Record<string, unknown> | undefined;
  const mapPath = str('mapFile');
  if (mapPath) {
    const text = readText(mapPath, 'mapping file', 'bad-mapping');
    try {
      mapFile = JSON.parse(text);
    } catch (err) {
      throw usageError(`Mapping file ${mapPath} is not valid JSON: ${(err as Error).message}`, 'e.g. {"email": "email", "id": "custom:legacy_id"}', 'bad-mapping');
    }
    if (!mapFile || typeof mapFile !== 'object' || Array.isArray(mapFile)) throw usageError(`Mapping file ${mapPath} must hold one JSON object of column → attribute.`, undefined, 'bad-mapping');
  }
  const mode = (str('mode') ?? ctx.setting('cognito', 'mode', undefined, 'admin-create')) as MigrateOptions['mode'];
  if (mode !== 'admin-create' && mode !== 'import-job') throw usageError(`Unknown migrate mode "${mode}".`, 'use admin-create or import-job (cognito.mode / OPSCTL_COGNITO_MODE)');
  const concurrency = ctx.setting('cognito', 'concurrency', flag.number(flags, 'concurrency'), 10, 'number')!;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError('--concurrency must be a whole number of at least 1.');
  // Flags and config reach here unchecked by commander: a rate of 0 or less would mean no limit at all.
  const rate = ctx.setting('cognito', 'rate', flag.number(flags, 'rate'), 40, 'number')!;
  if (!(rate > 0)) throw usageError(`--rate must be more than 0 requests per second, got ${rate}.`, 'Cognito allows 50 AdminCreateUser requests/s per account and region; the default is 40');
  if (mode === 'import-job' && !str('cloudwatchRoleArn')) throw usageError('--mode import-job needs --cloudwatch-role-arn.', 'the role lets the import job write its log to CloudWatch');
  // Import jobs send no invitations and fail users that already exist: these flags would be silently ignored.
  const ignored = mode === 'import-job' ? ['invite', 'update'].filter((f) => flag.bool(flags, f)) : [];
  if (ignored.length) throw usageError(`--${ignored.join(' and --')} cannot be used with --mode import-job.`, 'import jobs never email users and cannot update existing ones; use --mode admin-create');

  const hashFlag = str('passwordHash')?.toUpperCase();
  if (hashFlag !== undefined && !HASH_ALGORITHMS.includes(hashFlag as HashAlgorithm)) throw usageError(`--password-hash must be one of ${HASH_ALGORITHMS.join(', ')}, got "${hashFlag}".`, 'Devise and has_secure_password store BCRYPT; Django PBKDF2_SHA256 (or ARGON2ID)');
  if (str('passwordColumn') && !hashFlag) throw usageError('--password-column needs --password-hash ALGORITHM.');
  const deviseConfig = str('deviseConfig');
  const pepperConfigured = flag.bool(flags, 'pepperConfigured') || (deviseConfig ? deviseConfigHasPepper(readText(deviseConfig, 'Devise config', 'usage')) : false);

  const unconfirmed = str('unconfirmed');
  if (unconfirmed !== undefined && unconfirmed !== 'admin-create' && unconfirmed !== 'skip') throw usageError(`--unconfirmed must be admin-create or skip, got "${unconfirmed}".`);
  if (unconfirmed && mode !== 'import-job') throw usageError('--unconfirmed only applies to --mode import-job.', 'AdminCreateUser creates unconfirmed users with email_verified=false');

  const repair = flag.bool(flags, 'repair');
  if (repair && !flag.bool(flags, 'verify')) throw usageError('--repair needs --verify.', 'opsctl cognito migrate … --verify --repair');
  const writeBackFlag = str('writeBack');
  if (writeBackFlag && !/^postgres(ql)?:\/\//i.test(from)) throw usageError('--write-back needs a PostgreSQL source.', 'the links file (--links) holds legacy_id,username,sub for other sources');
  if (writeBackFlag && str('query') && !writeBackFlag.includes('.')) throw usageError('--write-back with --query must name the table: --write-back TABLE.COLUMN.');

  return {
    userPoolId,
    from,
    table: str('table'),
    query: str('query'),
    map: parseMapFlags(flag.strings(flags, 'map'), mapFile),
    mode,
    invite: flag.bool(flags, 'invite'),
    update: flag.bool(flags, 'update'),
    rate,
    concurrency,
    groups: flag.strings(flags, 'group'),
    groupColumn: str('groupColumn'),
    stateFile: str('stateFile'),
    rejects: str('rejects'),
    report: str('report'),
    links: str('links'),
    writeBack: writeBackFlag ? parseWriteBack(writeBackFlag, str('table') ?? 'users') : undefined,
    restart: flag.bool(flags, 'restart'),
    dryRun: Boolean(ctx.global.dryRun),
    verify: flag.bool(flags, 'verify'),
    repair,
    cloudwatchRoleArn: str('cloudwatchRoleArn'),
    passwordHash: hashFlag ? { algorithm: hashFlag as HashAlgorithm, column: str('passwordColumn') } : undefined,
    pepperConfigured,
    phoneCountry: str('phoneCountry'),
    unconfirmed: unconfirmed as MigrateOptions['unconfirmed'],
  };
}
