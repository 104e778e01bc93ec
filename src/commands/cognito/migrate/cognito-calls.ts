/**
 * The per-user Cognito writes with retries: throttling and 5xx back off with
 * jitter (and slow the limiter down); LimitExceeded and credential problems
 * stop the whole run; anything else fails just that user.
 */
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminUpdateUserAttributesCommand,
  type CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { translateAwsError } from '../../../lib/aws-errors.js';
import { OpsError, firstLine } from '../../../lib/errors.js';
import { AdaptiveRateLimiter, backoffMs, type Clock } from './rate.js';
import type { Outcome } from './state.js';
import type { MappedUser, PoolInfo } from './mapping.js';

/** Stops the run: nothing more is started, in-flight work finishes, the checkpoint is saved. */
export class StopRun extends Error {
  constructor(readonly error: OpsError) {
    super(error.message);
  }
}

/** This user could not be written; the run goes on. */
export class UserFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const RETRYABLE = new Set(['TooManyRequestsException', 'ThrottlingException', 'InternalErrorException', 'ServiceUnavailableException', 'TimeoutError', 'RequestTimeout']);
const THROTTLE = new Set(['TooManyRequestsException', 'ThrottlingException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);
const MAX_ATTEMPTS = 12;

export interface WriterOptions {
  poolId: string;
  invite: boolean;
  update: boolean;
  pool: PoolInfo;
}

export class UserWriter {
  retries = 0;
  groupsAdded = 0;
  disabled = 0;

  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly opts: WriterOptions,
    private readonly createLimiter: AdaptiveRateLimiter,
    private readonly updateLimiter: AdaptiveRateLimiter,
    private readonly clock: Clock,
    private readonly signal?: AbortSignal,
    private readonly random: () => number = Math.random,
  ) {}

  /** Create (or find) the user, then its groups and disabled state; returns what happened and its sub. */
  async write(user: MappedUser, opts: { needSub?: boolean } = {}): Promise<{ outcome: Outcome; sub?: string }> {
    let outcome: Outcome;
    let sub: string | undefined;
    try {
      const res = await this.call('AdminCreateUser', this.createLimiter, () =>
        this.client.send(
          new AdminCreateUserCommand({
            UserPoolId: this.opts.poolId,
            Username: user.username,
            UserAttributes: user.attributes,
            ...(this.opts.invite ? { DesiredDeliveryMediums: ['EMAIL'] } : { MessageAction: 'SUPPRESS' }),
          }),
        ),
      );
      sub = res.User?.Attributes?.find((a) => a.Name === 'sub')?.Value;
      outcome = 'created';
    } catch (err) {
      if (!(err instanceof UserFailed) || err.code !== 'UsernameExistsException') throw err;
      outcome = 'existing';
      // Created by an earlier run that was killed before it wrote the link: ask for the sub.
      if (opts.needSub !== false) sub = await this.getSub(user.username);
      if (this.opts.update) {
        const attrs = user.attributes.filter((a) => this.opts.pool.attributes.get(a.Name)?.mutable !== false);
        if (attrs.length) {
          await this.call('AdminUpdateUserAttributes', this.updateLimiter, () => this.client.send(new AdminUpdateUserAttributesCommand({ UserPoolId: this.opts.poolId, Username: user.username, UserAttributes: attrs })));
          outcome = 'updated';
        }
      }
    }
    // Also for users already there: a crash may have come between create and these.
    for (const group of user.groups) {
      await this.call('AdminAddUserToGroup', this.updateLimiter, () => this.client.send(new AdminAddUserToGroupCommand({ UserPoolId: this.opts.poolId, Username: user.username, GroupName: group })));
      this.groupsAdded += 1;
    }
    if (user.disabled) {
      await this.call('AdminDisableUser', this.updateLimiter, () => this.client.send(new AdminDisableUserCommand({ UserPoolId: this.opts.poolId, Username: user.username })));
      this.disabled += 1;
    }
    return { outcome, sub };
  }

  async getSub(username: string): Promise<string | undefined> {
    const res = await this.call('AdminGetUser', this.updateLimiter, () => this.client.send(new AdminGetUserCommand({ UserPoolId: this.opts.poolId, Username: username })));
    return res.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
  }

  /** --repair: bring one user in the pool to what the source says. */
  async repair(username: string, fix: { attributes?: Array<{ Name: string; Value: string }>; enable?: boolean; disable?: boolean; addGroups?: string[]; removeGroups?: string[] }): Promise<void> {
    const pool = this.opts.poolId;
    if (fix.attributes?.length) await this.call('AdminUpdateUserAttributes', this.updateLimiter, () => this.client.send(new AdminUpdateUserAttributesCommand({ UserPoolId: pool, Username: username, UserAttributes: fix.attributes })));
    if (fix.enable) await this.call('AdminEnableUser', this.updateLimiter, () => this.client.send(new AdminEnableUserCommand({ UserPoolId: pool, Username: username })));
    if (fix.disable) await this.call('AdminDisableUser', this.updateLimiter, () => this.client.send(new AdminDisableUserCommand({ UserPoolId: pool, Username: username })));
    for (const g of fix.addGroups ?? []) await this.call('AdminAddUserToGroup', this.updateLimiter, () => this.client.send(new AdminAddUserToGroupCommand({ UserPoolId: pool, Username: username, GroupName: g })));
    for (const g of fix.removeGroups ?? []) await this.call('AdminRemoveUserFromGroup', this.updateLimiter, () => this.client.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: pool, Username: username, GroupName: g })));
  }

  /** Import-job mode, after the job: disable and group an imported user. */
  async finishImported(user: MappedUser): Promise<void> {
    await this.repair(user.username, { addGroups: user.groups, disable: user.disabled });
    this.groupsAdded += user.groups.length;
    if (user.disabled) this.disabled += 1;
  }

  private async call<T>(action: string, limiter: AdaptiveRateLimiter, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await limiter.acquire(this.signal);
      try {
        const r = await fn();
        limiter.onSuccess();
        return r;
      } catch (err) {
        const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode ?? 0;
        const name = e.name;
        if (name === 'LimitExceededException') {
          throw new StopRun(new OpsError(`Cognito stopped the run with LimitExceededException: ${firstLine(e)}`, { code: 'cognito-limit-exceeded', hint: 'a quota was reached (e.g. the daily email limit with --invite); re-run the same command later to continue from the checkpoint', cause: err }));
        }
        if (name === 'UsernameExistsException') throw new UserFailed(name, firstLine(e));
        const retryable = RETRYABLE.has(name) || status >= 500 || NETWORK.has(e.code ?? '') || /socket hang up|ECONNRESET/.test(e.message ?? '');
        if (retryable && attempt + 1 < MAX_ATTEMPTS) {
          if (THROTTLE.has(name)) limiter.onThrottle();
          this.retries += 1;
          await this.clock.sleep(backoffMs(attempt, this.random), this.signal);
          continue;
        }
        if (retryable) throw new UserFailed(name || 'NetworkError', `${action} still failing after ${MAX_ATTEMPTS} attempts: ${firstLine(e)}`);
        if (name === 'ResourceNotFoundException' && action === 'AdminCreateUser') {
          throw new StopRun(new OpsError(`User pool ${this.opts.poolId} no longer exists: ${firstLine(e)}`, { code: 'pool-not-found', cause: err }));
        }
        const fatal = translateAwsError(err, { action: `cognito-idp:${action}` });
        if (fatal && fatal.code !== 'aws-throttled') throw new StopRun(fatal);
        throw new UserFailed(name || 'Error', `${action}: ${firstLine(e)}`);
      }
    }
  }
}
