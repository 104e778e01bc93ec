import type http from 'node:http';
import { pbkdf2Sync, randomUUID, timingSafeEqual } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import bcrypt from 'bcryptjs';
import { AwsError, AwsJsonServer } from './aws-json-server.js';

/**
 * A protocol-level stand-in for the Cognito user pool API (AWS JSON 1.1,
 * X-Amz-Target: AWSCognitoIdentityProviderService.<Op>), on the shared
 * AwsJsonServer, for what cognito-local cannot do: enforce a request rate (a
 * token bucket that answers TooManyRequestsException, like the real
 * per-account quota), inject LimitExceeded, 5xx and per-user failures, and
 * run CSV import jobs — including CreateUserImportJob's
 * PasswordHashingAlgorithm (BCRYPT | SCRYPT | ARGON2ID | PBKDF2_SHA256):
 * a row's hash must be in that format or the row fails; users imported with a
 * hash are CONFIRMED and sign in with their old password (AdminInitiateAuth
 * checks BCRYPT and PBKDF2_SHA256 hashes for real); without one, RESET_REQUIRED.
 */
export interface StandinOptions {
  /** Requests per second allowed across all operations (token bucket, burst = rate). Unlimited when 0. */
  rate?: number;
  usernameAttributes?: string[];
  customAttributes?: string[];
  requiredAttributes?: string[];
  groups?: string[];
  /** Answer LimitExceededException to AdminCreateUser once this many users exist. */
  limitExceededAfter?: number;
  /** Usernames whose creation fails with InvalidParameterException. */
  failUsernames?: Set<string>;
  /** Every Nth request gets a 500 InternalErrorException. */
  internalErrorEvery?: number;
  /** Artificial latency per request (ms). */
  latencyMs?: number;
  /** How long an import job stays Pending/InProgress (ms). */
  importDelayMs?: number;
  /** The hash column GetCSVHeader names (default cognito:password_hash). */
  hashColumn?: string;
  /** CreateUserImportJob refuses PasswordHashingAlgorithm (an account or region without hash import). */
  refuseHashImport?: boolean;
}

export interface StandinImportJob {
  JobId: string;
  JobName: string;
  Status: string;
  PasswordHashingAlgorithm?: string;
  csv?: string;
  uploadHeaders?: http.IncomingHttpHeaders;
  ImportedUsers: number;
  SkippedUsers: number;
  FailedUsers: number;
  CompletionMessage?: string;
}

export interface StandinUser {
  username: string;
  attributes: Record<string, string>;
  enabled: boolean;
  groups: Set<string>;
  creates: number;
  status?: 'FORCE_CHANGE_PASSWORD' | 'RESET_REQUIRED' | 'CONFIRMED';
  passwordHash?: { algorithm: string; hash: string };
}

export interface CognitoStandin {
  endpoint: string;
  poolId: string;
  server: AwsJsonServer;
  users: Map<string, StandinUser>;
  jobs: Map<string, StandinImportJob>;
  stats: { requests: number; throttled: number; creates: number; createAttempts: number; byOp: Record<string, number> };
  /** The last AdminCreateUser request body. */
  lastCreate?: Record<string, unknown>;
  options: StandinOptions;
  stop(): Promise<void>;
}

const STANDARD = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'email', 'email_verified', 'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number', 'phone_number_verified', 'address', 'updated_at'];
const ALGORITHMS = new Set(['BCRYPT', 'SCRYPT', 'ARGON2ID', 'PBKDF2_SHA256']);
const HASH_FORMAT: Record<string, RegExp> = {
  BCRYPT: /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/,
  PBKDF2_SHA256: /^pbkdf2_sha256\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$/,
  ARGON2ID: /^(?:argon2)?\$argon2id\$/,
  SCRYPT: /^(?:\$scrypt\$|scrypt\$)/,
};
const POOL_ID = 'us-east-1_Standin01';

function passwordMatches(stored: { algorithm: string; hash: string }, password: string): boolean {
  if (stored.algorithm === 'BCRYPT') return bcrypt.compareSync(password, stored.hash);
  if (stored.algorithm === 'PBKDF2_SHA256') {
    const [, iterations, salt, hash] = stored.hash.split('$');
    const got = pbkdf2Sync(password, salt!, Number(iterations), 32, 'sha256');
    const want = Buffer.from(hash!, 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  }
  return false;
}

export async function startCognitoStandin(options: StandinOptions = {}): Promise<CognitoStandin> {
  const users = new Map<string, StandinUser>();
  const groups = new Set(options.groups ?? []);
  const stats = { requests: 0, throttled: 0, creates: 0, createAttempts: 0, byOp: {} as Record<string, number> };
  const rate = options.rate ?? 0;
  let tokens = rate;
  let last = performance.now();
  const emailPool = (options.usernameAttributes ?? ['email']).includes('email');
  const jobs = new Map<string, StandinImportJob>();
  const api = {} as CognitoStandin;
  const hashColumn = options.hashColumn ?? 'cognito:password_hash';
  const csvHeader = [...STANDARD, ...(options.customAttributes ?? []).map((n) => `custom:${n}`), 'cognito:mfa_enabled', 'cognito:username', hashColumn];
  const findUser = (name: string): StandinUser | undefined => {
    const direct = users.get(emailPool ? name.toLowerCase() : name);
    if (direct || !emailPool || name.includes('@')) return direct;
    // In email-as-username pools Admin* calls also take the sub (ListUsers' Username).
    for (const u of users.values()) if (u.attributes.sub === name) return u;
    return undefined;
  };
  const mustFind = (name: string): StandinUser => {
    const u = findUser(String(name));
    if (!u) throw new AwsError('UserNotFoundException', 'User does not exist.');
    return u;
  };
  const wire = (u: StandinUser) => ({ Username: emailPool ? u.attributes.sub : u.username, Enabled: u.enabled, UserStatus: u.status, Attributes: Object.entries(u.attributes).map(([Name, Value]) => ({ Name, Value })) });

  const runJob = (job: StandinImportJob) => {
    setTimeout(() => {
      job.Status = 'InProgress';
      setTimeout(() => {
        const rows = parse(job.csv ?? '', { columns: true }) as Array<Record<string, string>>;
        for (const row of rows) {
          const name = row['cognito:username']!;
          const hash = row[hashColumn] ?? '';
          const badHash = hash !== '' && (!job.PasswordHashingAlgorithm || !HASH_FORMAT[job.PasswordHashingAlgorithm]!.test(hash));
          if (findUser(name) || row.email_verified !== 'true' || badHash) {
            job.FailedUsers += 1;
            continue;
          }
          const attrs: Record<string, string> = { sub: randomUUID() };
          for (const [k, v] of Object.entries(row)) if (v !== '' && !k.startsWith('cognito:')) attrs[k] = v;
          users.set(emailPool ? name.toLowerCase() : name, {
            username: name,
            attributes: attrs,
            enabled: true,
            groups: new Set(),
            creates: 1,
            status: hash ? 'CONFIRMED' : 'RESET_REQUIRED',
            ...(hash ? { passwordHash: { algorithm: job.PasswordHashingAlgorithm!, hash } } : {}),
          });
          job.ImportedUsers += 1;
        }
        job.Status = 'Succeeded';
        job.CompletionMessage = 'Import Job Completed Successfully.';
      }, options.importDelayMs ?? 30);
    }, options.importDelayMs ?? 30);
  };

  const schema = [
    { Name: 'sub', AttributeDataType: 'String', Mutable: false, Required: true, StringAttributeConstraints: { MinLength: '1', MaxLength: '2048' } },
    ...STANDARD.map((n) => ({
      Name: n,
      AttributeDataType: n.endsWith('_verified') ? 'Boolean' : n === 'updated_at' ? 'Number' : 'String',
      Mutable: true,
      Required: (options.requiredAttributes ?? []).includes(n),
      ...(n.endsWith('_verified') || n === 'updated_at' ? {} : { StringAttributeConstraints: { MinLength: '0', MaxLength: '2048' } }),
    })),
    ...(options.customAttributes ?? []).map((n) => ({ Name: `custom:${n}`, AttributeDataType: 'String', Mutable: true, Required: false, StringAttributeConstraints: { MinLength: '0', MaxLength: '64' } })),
  ];

  const handle = (op: string, body: Record<string, any>): unknown => {
    stats.requests += 1;
    stats.byOp[op] = (stats.byOp[op] ?? 0) + 1;
    if (rate > 0) {
      const now = performance.now();
      tokens = Math.min(rate, tokens + ((now - last) / 1000) * rate);
      last = now;
      if (tokens < 1) {
        stats.throttled += 1;
        throw new AwsError('TooManyRequestsException', 'Too many requests');
      }
      tokens -= 1;
    }
    if (options.internalErrorEvery && stats.requests % options.internalErrorEvery === 0) throw new AwsError('InternalErrorException', 'Internal error', 500);
    if (body.UserPoolId !== undefined && body.UserPoolId !== POOL_ID) throw new AwsError('ResourceNotFoundException', `User pool ${body.UserPoolId} does not exist.`);
    switch (op) {
      case 'DescribeUserPool':
        return { UserPool: { Id: POOL_ID, Name: 'standin', SchemaAttributes: schema, UsernameAttributes: options.usernameAttributes ?? ['email'], UsernameConfiguration: { CaseSensitive: false } } };
      case 'ListGroups':
        return { Groups: [...groups].map((g) => ({ GroupName: g, UserPoolId: POOL_ID })) };
      case 'AdminCreateUser': {
        stats.createAttempts += 1;
        api.lastCreate = body;
        const name: string = body.Username;
        if (options.limitExceededAfter !== undefined && users.size >= options.limitExceededAfter) throw new AwsError('LimitExceededException', 'Exceeded daily email limit for the operation or the account.');
        if (options.failUsernames?.has(name)) throw new AwsError('InvalidParameterException', 'Invalid phone number format.');
        const existing = findUser(name);
        if (existing) {
          existing.creates += 1;
          throw new AwsError('UsernameExistsException', 'An account with the given email already exists.');
        }
        const attrs: Record<string, string> = { sub: randomUUID() };
        for (const a of body.UserAttributes ?? []) attrs[a.Name] = a.Value;
        const user: StandinUser = { username: name, attributes: attrs, enabled: true, groups: new Set(), creates: 1, status: 'FORCE_CHANGE_PASSWORD' };
        users.set(emailPool ? name.toLowerCase() : name, user);
        stats.creates += 1;
        return { User: wire(user) };
      }
      case 'AdminGetUser': {
        const u = mustFind(body.Username);
        const w = wire(u);
        return { Username: w.Username, Enabled: w.Enabled, UserStatus: w.UserStatus, UserAttributes: w.Attributes };
      }
      case 'AdminUpdateUserAttributes': {
        const u = mustFind(body.Username);
        for (const a of body.UserAttributes ?? []) u.attributes[a.Name] = a.Value;
        // In email-as-username pools the email is how the user is found: a new one moves the user.
        if (emailPool && u.attributes.email) {
          for (const [k, v] of users) if (v === u) users.delete(k);
          users.set(u.attributes.email.toLowerCase(), u);
        }
        return {};
      }
      case 'AdminAddUserToGroup': {
        const u = mustFind(body.Username);
        if (!groups.has(body.GroupName)) throw new AwsError('ResourceNotFoundException', 'Group not found.');
        u.groups.add(body.GroupName);
        return {};
      }
      case 'AdminRemoveUserFromGroup':
        mustFind(body.Username).groups.delete(body.GroupName);
        return {};
      case 'AdminDisableUser':
        mustFind(body.Username).enabled = false;
        return {};
      case 'AdminEnableUser':
        mustFind(body.Username).enabled = true;
        return {};
      case 'AdminInitiateAuth': {
        const u = findUser(String(body.AuthParameters?.USERNAME ?? ''));
        const password = String(body.AuthParameters?.PASSWORD ?? '');
        if (!u || !u.passwordHash || !passwordMatches(u.passwordHash, password)) throw new AwsError('NotAuthorizedException', 'Incorrect username or password.');
        if (!u.enabled) throw new AwsError('NotAuthorizedException', 'User is disabled.');
        return { AuthenticationResult: { AccessToken: 'standin-access', IdToken: 'standin-id', TokenType: 'Bearer', ExpiresIn: 3600 } };
      }
      case 'ListUsers':
      case 'ListUsersInGroup': {
        const all = [...users.values()].filter((u) => op === 'ListUsers' || u.groups.has(body.GroupName));
        const start = Number(body.PaginationToken ?? body.NextToken ?? 0);
        const page = all.slice(start, start + (body.Limit ?? 60));
        const more = start + page.length < all.length ? String(start + page.length) : undefined;
        return { Users: page.map(wire), ...(more ? (op === 'ListUsers' ? { PaginationToken: more } : { NextToken: more }) : {}) };
      }
      case 'GetCSVHeader':
        return { UserPoolId: POOL_ID, CSVHeader: csvHeader };
      case 'CreateUserImportJob': {
        if (!body.CloudWatchLogsRoleArn) throw new AwsError('InvalidParameterException', 'CloudWatchLogsRoleArn is required');
        const algorithm = body.PasswordHashingAlgorithm as string | undefined;
        if (algorithm !== undefined && !ALGORITHMS.has(algorithm)) throw new AwsError('InvalidParameterException', `1 validation error detected: Value '${algorithm}' at 'passwordHashingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [BCRYPT, SCRYPT, ARGON2ID, PBKDF2_SHA256]`);
        if (algorithm !== undefined && options.refuseHashImport) throw new AwsError('InvalidParameterException', 'Password hash import is not available for this user pool.');
        const job: StandinImportJob = { JobId: `import-${randomUUID().slice(0, 12)}`, JobName: body.JobName, Status: 'Created', ImportedUsers: 0, SkippedUsers: 0, FailedUsers: 0, ...(algorithm ? { PasswordHashingAlgorithm: algorithm } : {}) };
        jobs.set(job.JobId, job);
        return { UserImportJob: { ...describeJob(job), PreSignedUrl: `${server.url}/upload/${job.JobId}` } };
      }
      case 'StartUserImportJob': {
        const job = jobs.get(body.JobId);
        if (!job) throw new AwsError('ResourceNotFoundException', 'job not found');
        if (job.Status !== 'Created' || job.csv === undefined) throw new AwsError('PreconditionNotMetException', 'job cannot be started');
        job.Status = 'Pending';
        runJob(job);
        return { UserImportJob: describeJob(job) };
      }
      case 'DescribeUserImportJob': {
        const job = jobs.get(body.JobId);
        if (!job) throw new AwsError('ResourceNotFoundException', 'job not found');
        return { UserImportJob: describeJob(job) };
      }
      default:
        throw new AwsError('UnknownOperationException', `stand-in does not implement ${op}`);
    }
  };

  const server = new AwsJsonServer({
    json: { AWSCognitoIdentityProviderService: (op, input) => handle(op, input as Record<string, any>) },
    // The pre-signed S3 URL of each import job: the body must be as long as Content-Length says.
    raw: (req, body, res) => {
      if (req.method !== 'PUT' || !req.url?.startsWith('/upload/')) return false;
      const job = jobs.get(req.url.slice('/upload/'.length));
      if (!job || Number(req.headers['content-length']) !== body.length) {
        res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
        return true;
      }
      job.csv = body.toString('utf8');
      job.uploadHeaders = req.headers;
      res.writeHead(200).end();
      return true;
    },
  });
  server.latencyMs = options.latencyMs ?? 0;
  const endpoint = await server.start();
  Object.assign(api, {
    endpoint,
    poolId: POOL_ID,
    server,
    users,
    jobs,
    stats,
    options,
    stop: () => server.stop(),
  });
  return api;
}

function describeJob(job: StandinImportJob) {
  const { csv: _csv, uploadHeaders: _h, ...rest } = job;
  return { ...rest, UserPoolId: POOL_ID, CloudWatchLogsRoleArn: 'arn:aws:iam::123456789012:role/import' };
}
