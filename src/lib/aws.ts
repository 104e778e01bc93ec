import { endpointEnvName, translateAwsError, type AwsErrorContext } from './aws-errors.js';
import { loadProfiles } from './aws-config.js';
import { resolveSetting, type ConfigFile } from './config.js';
import { ExitCode, OpsError } from './errors.js';

export { endpointEnvName };

/**
 * The one place AWS SDK clients are made. Region and profile are resolved
 * here (resolveAws, awsOptionsFor: see RegionSource for the order) and handed
 * to the SDK explicitly; credentials stay with the SDK's default provider
 * chain, so SSO, environment variables and shared config all work.
 * Endpoints can be overridden per service with the standard
 * AWS_ENDPOINT_URL_<SERVICE> variables (or AWS_ENDPOINT_URL for all).
 */
export interface AwsOptions {
  region?: string;
  profile?: string;
  /** Total attempts including the first (SDK default 3). */
  maxAttempts?: number;
  retryMode?: 'standard' | 'adaptive';
  /** Explicit endpoint, wins over the environment. */
  endpoint?: string;
  /** Where the profile name came from ("--profile", "AWS_PROFILE", '"aws.profile" in FILE'), for the unknown-profile hint. */
  profileFrom?: string;
  /** Where the region came from: flag, env, id, config, shared-config. */
  regionFrom?: RegionSource;
}

/**
 * Which layer set the region. Precedence, decided only in resolveAws/awsOptionsFor,
 * as aws-cli has it plus opsctl's own two layers:
 *   --region > AWS_REGION > AWS_DEFAULT_REGION      (explicit)
 *   > the region inside an id the command was given (a pool id eu-west-1_…, an ARN)
 *   > opsctl config (OPSCTL_AWS_REGION, then "aws.region" in the config file)
 *   > the profile's region in the shared AWS config (AWS_CONFIG_FILE or ~/.aws/config)
 * The profile: --profile > AWS_PROFILE > OPSCTL_AWS_PROFILE > "aws.profile" > the SDK's default.
 */
export type RegionSource = 'flag' | 'env' | 'id' | 'config' | 'shared-config';

export interface AwsInputs {
  profileFlag?: string;
  regionFlag?: string;
  env: NodeJS.ProcessEnv;
  config: ConfigFile;
  configPath: string;
}

export function resolveAws(input: AwsInputs): AwsOptions {
  const { env } = input;
  const fromConfig = (key: string) => resolveSetting({ config: input.config, configPath: input.configPath, env }, 'aws', key, undefined) as string | undefined;
  let profile: string | undefined;
  let profileFrom: string | undefined;
  if (input.profileFlag) [profile, profileFrom] = [input.profileFlag, '--profile'];
  else if (env.AWS_PROFILE) [profile, profileFrom] = [env.AWS_PROFILE, 'AWS_PROFILE'];
  else if (env.OPSCTL_AWS_PROFILE) [profile, profileFrom] = [env.OPSCTL_AWS_PROFILE, 'OPSCTL_AWS_PROFILE'];
  else if ((profile = fromConfig('profile'))) profileFrom = `"aws.profile" in ${input.configPath}`;

  let region: string | undefined;
  let regionFrom: RegionSource | undefined;
  if (input.regionFlag) [region, regionFrom] = [input.regionFlag, 'flag'];
  else if (env.AWS_REGION || env.AWS_DEFAULT_REGION) [region, regionFrom] = [env.AWS_REGION || env.AWS_DEFAULT_REGION, 'env'];
  else if ((region = fromConfig('region'))) regionFrom = 'config';
  else if ((region = loadProfiles(env).profiles.get(profile ?? 'default')?.region || undefined)) regionFrom = 'shared-config';

  const opts: AwsOptions = {};
  if (profile) Object.assign(opts, { profile, profileFrom });
  if (region) Object.assign(opts, { region, regionFrom });
  return opts;
}

/** The region inside an AWS id: a Cognito user pool id (eu-west-1_AbC), an identity pool id (eu-west-1:uuid), an ARN. */
export function regionFromId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const region = /^arn:[^:]+:[^:]+:([^:]*):/.exec(id)?.[1] ?? /^([a-z]{2}(?:-[a-z]+)+-\d+)[_:][0-9A-Za-z-]+$/.exec(id)?.[1];
  return region && /^[a-z]{2}(?:-[a-z]+)+-\d+$/.test(region) ? region : undefined;
}

/**
 * The AWS options for one command: ctx.aws, with the region an id implies
 * (regionFromId of the pool id or ARN the command works on) used unless
 * --region / AWS_REGION / AWS_DEFAULT_REGION say otherwise. Every command that
 * works on an id calls this, so `--user-pool-id eu-west-1_…` means eu-west-1 everywhere.
 */
export function awsOptionsFor(ctx: { aws: AwsOptions }, opts: { impliedRegion?: string } = {}): AwsOptions {
  const aws = { ...ctx.aws };
  if (opts.impliedRegion && aws.regionFrom !== 'flag' && aws.regionFrom !== 'env') Object.assign(aws, { region: opts.impliedRegion, regionFrom: 'id' });
  return aws;
}

/** A named profile must exist in the shared files: otherwise the SDK's error names neither the profile nor where it came from. */
export function checkProfile(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): void {
  if (!opts.profile) return;
  const { files, profiles } = loadProfiles(env);
  if (profiles.has(opts.profile)) return;
  const known = [...profiles.keys()].sort();
  const where = `${files.configFile} and ${files.credentialsFile}`;
  throw new OpsError(`AWS profile "${opts.profile}" does not exist.`, {
    hint: `it was named by ${opts.profileFrom ?? '--profile'}; ${known.length ? `the profiles in ${where} are: ${known.join(', ')}` : `${where} define no profiles (run \`aws configure --profile ${opts.profile}\` or \`aws configure sso\`)`}`,
    exitCode: ExitCode.USAGE,
    code: 'aws-unknown-profile',
  });
}

type ClientCtor<C> = new (config: Record<string, unknown>) => C;

export function endpointFor(serviceId: string, env: NodeJS.ProcessEnv = process.env, explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env[endpointEnvName(serviceId)] || env.AWS_ENDPOINT_URL || undefined;
}

export function createAwsClient<C>(Ctor: ClientCtor<C>, serviceId: string, opts: AwsOptions = {}, env: NodeJS.ProcessEnv = process.env): C {
  checkProfile(opts, env);
  const config: Record<string, unknown> = {
    retryMode: opts.retryMode ?? 'adaptive',
    maxAttempts: opts.maxAttempts ?? 4,
  };
  if (opts.region) config.region = opts.region;
  if (opts.profile) config.profile = opts.profile;
  // aws-cli (botocore): access keys in the environment beat AWS_PROFILE, but not --profile. The JS SDK
  // skips them whenever a profile is set, so hand them over explicitly in that one case.
  if (opts.profile && opts.profileFrom !== '--profile' && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  }
  const endpoint = endpointFor(serviceId, env, opts.endpoint);
  if (endpoint) config.endpoint = endpoint;
  return new Ctor(config);
}

/**
 * Run one AWS call and turn the errors every command meets (credentials, SSO,
 * AccessDenied, region, throttling, unreachable endpoint) into OpsErrors. Anything else is rethrown
 * for the command to handle.
 */
export async function awsCall<T>(action: string, fn: () => Promise<T>, ctx: Omit<AwsErrorContext, 'action'> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const translated = translateAwsError(err, { ...ctx, action });
    if (translated) throw translated;
    throw err;
  }
}
