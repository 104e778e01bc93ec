import { OpsError, ExitCode, firstLine } from './errors.js';

/**
 * Shared translation of the AWS errors every command meets. Returns undefined
 * when the error is not one of them, so the caller can handle it or rethrow.
 */
export interface AwsErrorContext {
  profile?: string;
  region?: string;
  /** The API action being called, e.g. "ecs:ListTasks", to name it on AccessDenied and unreachable endpoints. */
  action?: string;
  /** Environment holding AWS_ENDPOINT_URL_* overrides (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** AWS_ENDPOINT_URL_<SERVICE ID in SCREAMING_SNAKE>, e.g. "Cognito Identity Provider" → AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER. */
export function endpointEnvName(serviceId: string): string {
  return `AWS_ENDPOINT_URL_${serviceId.trim().replace(/[\s-]+/g, '_').toUpperCase()}`;
}

/** IAM action prefix → [name in messages, SDK service id]. */
const SERVICES: Record<string, [string, string]> = {
  ecs: ['ECS', 'ECS'],
  ec2: ['EC2', 'EC2'],
  'cognito-idp': ['Cognito', 'Cognito Identity Provider'],
  route53: ['Route 53', 'Route 53'],
  acm: ['ACM', 'ACM'],
};

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError']);

const CREDENTIAL_NAMES = new Set(['CredentialsProviderError', 'ProviderError']);

export function translateAwsError(err: unknown, ctx: AwsErrorContext = {}): OpsError | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof OpsError) return err;
  const e = err as Error & { name: string; Code?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const name = e.name || e.Code || '';
  const msg = firstLine(e);
  const profileFlag = ctx.profile ? ` --profile ${ctx.profile}` : '';

  // Expired or missing SSO session: the SDK's SSO provider says so in its message.
  if (/sso/i.test(msg) && /(expired|refresh|token|session)/i.test(msg) && (CREDENTIAL_NAMES.has(name) || /token/i.test(name) || name === 'UnauthorizedException')) {
    return new OpsError(`Your AWS SSO session has expired or was never started${ctx.profile ? ` (profile ${ctx.profile})` : ''}.`, {
      hint: `run \`aws sso login${profileFlag}\` and try again`,
      code: 'aws-sso-expired',
      cause: err,
    });
  }
  if (CREDENTIAL_NAMES.has(name) || /Could not load credentials|Unable to locate credentials/i.test(msg)) {
    return new OpsError('No AWS credentials found.', {
      hint: ctx.profile
        ? `check the credentials of profile "${ctx.profile}" in ~/.aws/config and ~/.aws/credentials, or run \`aws sso login${profileFlag}\``
        : 'set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure`',
      code: 'aws-no-credentials',
      cause: err,
    });
  }
  if (name === 'ExpiredTokenException' || name === 'ExpiredToken' || name === 'RequestExpired' || /security token included in the request is expired/i.test(msg)) {
    return new OpsError('Your AWS credentials have expired.', {
      hint: ctx.profile ? `run \`aws sso login${profileFlag}\` or refresh the profile's credentials` : 'refresh your AWS credentials (e.g. `aws sso login`) and try again',
      code: 'aws-expired-credentials',
      cause: err,
    });
  }
  if (name === 'UnrecognizedClientException' || name === 'InvalidClientTokenId' || name === 'AuthFailure' || name === 'InvalidSignatureException' || name === 'SignatureDoesNotMatch') {
    return new OpsError(`AWS rejected the credentials: ${msg}`, {
      hint: 'check the access key and secret, or the profile you selected',
      code: 'aws-bad-credentials',
      cause: err,
    });
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnauthorizedOperation' || name === 'NotAuthorizedException' && /not authorized to perform/i.test(msg)) {
    const action = /not authorized to perform:?\s*([A-Za-z0-9-]+:[A-Za-z0-9*]+)/i.exec(msg)?.[1] ?? ctx.action;
    return new OpsError(`Access denied${action ? `: your identity lacks permission for ${action}` : ''}.`, {
      hint: action ? `ask an administrator to allow "${action}" for your role or user` : `AWS said: ${msg}`,
      code: 'aws-access-denied',
      cause: err,
    });
  }
  const errno = (e as { code?: string }).code;
  if (errno === 'ENOTFOUND' || errno === 'EAI_AGAIN' || /getaddrinfo/.test(msg) || /Invalid region/i.test(msg) || name === 'InvalidRegion') {
    return new OpsError(`Cannot reach AWS${ctx.region ? ` in region "${ctx.region}"` : ''}: ${msg}`, {
      hint: 'check --region (e.g. eu-west-1) and your network connection',
      code: 'aws-unknown-region',
      cause: err,
    });
  }
  // The SDK's retries are spent and the endpoint still does not answer: say which one.
  if (NETWORK_ERRORS.has(errno ?? '') || NETWORK_ERRORS.has(name)) {
    const [label, serviceId] = SERVICES[ctx.action?.split(':')[0] ?? ''] ?? ['', ''];
    const env = ctx.env ?? process.env;
    const envName = serviceId ? endpointEnvName(serviceId) : 'AWS_ENDPOINT_URL';
    const override = (serviceId ? env[envName] : undefined) || env.AWS_ENDPOINT_URL;
    return new OpsError(`Cannot reach the AWS ${label ? `${label} ` : ''}endpoint${override ? ` ${override}` : ''}${ctx.action ? ` (${ctx.action})` : ''}: ${msg}`, {
      hint: override ? `check ${serviceId ? `${envName} / ` : ''}AWS_ENDPOINT_URL` : 'check your network connection, proxy settings and --region',
      code: 'aws-unreachable',
      cause: err,
    });
  }
  if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || name === 'RequestLimitExceeded' || name === 'Throttling') {
    return new OpsError(`AWS kept throttling the requests even after retries: ${msg}`, {
      hint: 'wait a minute and try again, or lower the request rate',
      code: 'aws-throttled',
      cause: err,
    });
  }
  if (/Region is missing/i.test(msg)) {
    return new OpsError('No AWS region configured.', {
      hint: 'pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), set "aws.region" in the opsctl config, or set a region for the profile in ~/.aws/config (AWS_CONFIG_FILE)',
      exitCode: ExitCode.USAGE,
      code: 'aws-no-region',
      cause: err,
    });
  }
  return undefined;
}
