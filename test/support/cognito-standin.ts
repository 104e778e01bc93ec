import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';

/**
 * A protocol-level stand-in for the Cognito user pool API (AWS JSON 1.1,
 * X-Amz-Target: AWSCognitoIdentityProviderService.<Op>) for what
 * cognito-local cannot do: enforce a request rate (a token bucket that
 * answers TooManyRequestsException, like the real per-account quota), and
 * inject LimitExceeded, 5xx and per-user failures.
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
}

export interface StandinImportJob {
  JobId: string;
  JobName: string;
  Status: string;
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
}

export interface CognitoStandin {
  endpoint: string;
  poolId: string;
  users: Map<string, StandinUser>;
  jobs: Map<string, StandinImportJob>;
  stats: { requests: number; throttled: number; creates: number; createAttempts: number; byOp: Record<string, number> };
  /** The last AdminCreateUser request body. */
  lastCreate?: Record<string, unknown>;
  options: StandinOptions;
  stop(): Promise<void>;
}

const STANDARD = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'email', 'email_verified', 'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number', 'phone_number_verified', 'address', 'updated_at'];

export async function startCognitoStandin(options: StandinOptions = {}): Promise<CognitoStandin> {
  const poolId = 'us-east-1_Standin01';
  const users = new Map<string, StandinUser>();
  const groups = new Set(options.groups ?? []);
  const stats = { requests: 0, throttled: 0, creates: 0, createAttempts: 0, byOp: {} as Record<string, number> };
  const rate = options.rate ?? 0;
  let tokens = rate;
  let last = performance.now();
  const emailPool = (options.usernameAttributes ?? ['email']).includes('email');
  const jobs = new Map<string, StandinImportJob>();
  const api = {} as CognitoStandin;
  let endpoint = '';
  const csvHeader = [...STANDARD, ...(options.customAttributes ?? []).map((n) => `custom:${n}`), 'cognito:mfa_enabled', 'cognito:username'];
  const runJob = (job: StandinImportJob) => {
    setTimeout(() => {
      job.Status = 'InProgress';
      setTimeout(() => {
        const rows = parse(job.csv ?? '', { columns: true }) as Array<Record<string, string>>;
        for (const row of rows) {
          const name = row['cognito:username']!;
          if (findUser(name) || row.email_verified !== 'true') {
            job.FailedUsers += 1;
            continue;
          }
          const attrs: Record<string, string> = { sub: randomUUID() };
          for (const [k, v] of Object.entries(row)) if (v !== '' && !k.startsWith('cognito:')) attrs[k] = v;
          users.set(emailPool ? name.toLowerCase() : name, { username: name, attributes: attrs, enabled: true, groups: new Set(), creates: 1 });
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

  const fail = (res: http.ServerResponse, status: number, type: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
    res.end(JSON.stringify({ __type: type, message }));
  };
  const findUser = (name: string): StandinUser | undefined => users.get(emailPool ? name.toLowerCase() : name);

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (req.method === 'PUT' && req.url?.startsWith('/upload/')) {
        const job = jobs.get(req.url.slice('/upload/'.length));
        if (!job || Number(req.headers['content-length']) !== Buffer.concat(chunks).length) return void res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
        job.csv = Buffer.concat(chunks).toString('utf8');
        job.uploadHeaders = req.headers;
        return void res.writeHead(200).end();
      }
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      stats.requests += 1;
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      stats.byOp[op] = (stats.byOp[op] ?? 0) + 1;
      if (rate > 0) {
        const now = performance.now();
        tokens = Math.min(rate, tokens + ((now - last) / 1000) * rate);
        last = now;
        if (tokens < 1) {
          stats.throttled += 1;
          return fail(res, 400, 'TooManyRequestsException', 'Too many requests');
        }
        tokens -= 1;
      }
      if (options.internalErrorEvery && stats.requests % options.internalErrorEvery === 0) return fail(res, 500, 'InternalErrorException', 'Internal error');
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return fail(res, 400, 'SerializationException', 'bad json');
      }
      if (body.UserPoolId !== undefined && body.UserPoolId !== poolId) return fail(res, 400, 'ResourceNotFoundException', `User pool ${body.UserPoolId} does not exist.`);
      const ok = (v: unknown) => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(v));
      };
      switch (op) {
        case 'DescribeUserPool':
          return ok({ UserPool: { Id: poolId, Name: 'standin', SchemaAttributes: schema, UsernameAttributes: options.usernameAttributes ?? ['email'], UsernameConfiguration: { CaseSensitive: false } } });
        case 'ListGroups':
          return ok({ Groups: [...groups].map((g) => ({ GroupName: g, UserPoolId: poolId })) });
        case 'AdminCreateUser': {
          stats.createAttempts += 1;
          api.lastCreate = body;
          const name: string = body.Username;
          if (options.limitExceededAfter !== undefined && users.size >= options.limitExceededAfter) return fail(res, 400, 'LimitExceededException', 'Exceeded daily email limit for the operation or the account.');
          if (options.failUsernames?.has(name)) return fail(res, 400, 'InvalidParameterException', 'Invalid phone number format.');
          const existing = findUser(name);
          if (existing) {
            existing.creates += 1;
            return fail(res, 400, 'UsernameExistsException', 'An account with the given email already exists.');
          }
          const attrs: Record<string, string> = { sub: randomUUID() };
          for (const a of body.UserAttributes ?? []) attrs[a.Name] = a.Value;
          const user: StandinUser = { username: name, attributes: attrs, enabled: true, groups: new Set(), creates: 1 };
          users.set(emailPool ? name.toLowerCase() : name, user);
          stats.creates += 1;
          return ok({ User: { Username: attrs.sub, Enabled: true, UserStatus: 'FORCE_CHANGE_PASSWORD', Attributes: Object.entries(attrs).map(([Name, Value]) => ({ Name, Value })) } });
        }
        case 'AdminUpdateUserAttributes': {
          const u = findUser(body.Username);
          if (!u) return fail(res, 400, 'UserNotFoundException', 'User does not exist.');
          for (const a of body.UserAttributes ?? []) u.attributes[a.Name] = a.Value;
          return ok({});
        }
        case 'AdminAddUserToGroup': {
          const u = findUser(body.Username);
          if (!u) return fail(res, 400, 'UserNotFoundException', 'User does not exist.');
          if (!groups.has(body.GroupName)) return fail(res, 400, 'ResourceNotFoundException', 'Group not found.');
          u.groups.add(body.GroupName);
          return ok({});
        }
        case 'AdminDisableUser': {
          const u = findUser(body.Username);
          if (!u) return fail(res, 400, 'UserNotFoundException', 'User does not exist.');
          u.enabled = false;
          return ok({});
        }
        case 'ListUsers': {
          const all = [...users.values()];
          const start = Number(body.PaginationToken ?? 0);
          const page = all.slice(start, start + (body.Limit ?? 60));
          return ok({
            Users: page.map((u) => ({ Username: emailPool ? u.attributes.sub : u.username, Enabled: u.enabled, Attributes: Object.entries(u.attributes).map(([Name, Value]) => ({ Name, Value })) })),
            ...(start + page.length < all.length ? { PaginationToken: String(start + page.length) } : {}),
          });
        }
        case 'GetCSVHeader':
          return ok({ UserPoolId: poolId, CSVHeader: csvHeader });
        case 'CreateUserImportJob': {
          if (!body.CloudWatchLogsRoleArn) return fail(res, 400, 'InvalidParameterException', 'CloudWatchLogsRoleArn is required');
          const job: StandinImportJob = { JobId: `import-${randomUUID().slice(0, 12)}`, JobName: body.JobName, Status: 'Created', ImportedUsers: 0, SkippedUsers: 0, FailedUsers: 0 };
          jobs.set(job.JobId, job);
          return ok({ UserImportJob: { ...describeJob(job), PreSignedUrl: `${endpoint}/upload/${job.JobId}` } });
        }
        case 'StartUserImportJob': {
          const job = jobs.get(body.JobId);
          if (!job) return fail(res, 400, 'ResourceNotFoundException', 'job not found');
          if (job.Status !== 'Created' || job.csv === undefined) return fail(res, 400, 'PreconditionNotMetException', 'job cannot be started');
          job.Status = 'Pending';
          runJob(job);
          return ok({ UserImportJob: describeJob(job) });
        }
        case 'DescribeUserImportJob': {
          const job = jobs.get(body.JobId);
          if (!job) return fail(res, 400, 'ResourceNotFoundException', 'job not found');
          return ok({ UserImportJob: describeJob(job) });
        }
        default:
          return fail(res, 400, 'UnknownOperationException', `stand-in does not implement ${op}`);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  endpoint = `http://127.0.0.1:${port}`;
  Object.assign(api, {
    endpoint,
    poolId,
    users,
    jobs,
    stats,
    options,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  });
  return api;
}

function describeJob(job: StandinImportJob) {
  const { csv: _csv, uploadHeaders: _h, ...rest } = job;
  return { ...rest, UserPoolId: 'us-east-1_Standin01', CloudWatchLogsRoleArn: 'arn:aws:iam::123456789012:role/import' };
}
