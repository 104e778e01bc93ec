import { endpointEnvName, translateAwsError, type AwsErrorContext } from './aws-errors.js';

export { endpointEnvName };

/**
 * The one place AWS SDK clients are made. Region and profile come from the
 * global flags (or config); when absent the SDK's default provider chain
 * decides, so SSO, environment variables and shared config all work.
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
}

type ClientCtor<C> = new (config: Record<string, unknown>) => C;

export function endpointFor(serviceId: string, env: NodeJS.ProcessEnv = process.env, explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env[endpointEnvName(serviceId)] || env.AWS_ENDPOINT_URL || undefined;
}

export function createAwsClient<C>(Ctor: ClientCtor<C>, serviceId: string, opts: AwsOptions = {}, env: NodeJS.ProcessEnv = process.env): C {
  const config: Record<string, unknown> = {
    retryMode: opts.retryMode ?? 'adaptive',
    maxAttempts: opts.maxAttempts ?? 4,
  };
  if (opts.region) config.region = opts.region;
  if (opts.profile) config.profile = opts.profile;
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
