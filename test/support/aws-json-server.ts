/**
 * The one local HTTP server behind the AWS stand-ins (ECS/EC2, SSM, Cognito,
 * Cognito import-job uploads): it speaks the wire formats the real SDK clients
 * use — JSON 1.1 (`X-Amz-Target: <Prefix>.<Operation>`, `{"__type", "message"}`
 * errors, `x-amzn-errortype` header) and the EC2 Query protocol (form-encoded
 * `Action=…`, XML `<Response><Errors>` errors) — records every call, and adds
 * latency and injected faults. Each stand-in supplies only its operations.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export class AwsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

export interface AwsCall {
  /** Target prefix (e.g. AmazonEC2ContainerServiceV20141113) or 'query' for the Query protocol. */
  service: string;
  op: string;
  input: Record<string, unknown>;
  at: number;
}

export interface InjectedFault {
  op: string;
  code: string;
  message?: string;
  status?: number;
  /** How many calls fail (default 1). */
  times?: number;
}

/** A JSON 1.1 service: operation name → handler returning the output object (or throwing AwsError). */
export type JsonHandler = (op: string, input: Record<string, unknown>, req: http.IncomingMessage) => unknown | Promise<unknown>;
/** The EC2 Query protocol: Action → XML body. */
export type QueryHandler = (op: string, params: URLSearchParams) => string | Promise<string>;
/** Anything else (S3 presigned PUTs, …): return true when handled. */
export type RawHandler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => boolean | Promise<boolean>;

export interface AwsJsonServerOptions {
  /** X-Amz-Target prefix → handler. */
  json?: Record<string, JsonHandler>;
  query?: QueryHandler;
  raw?: RawHandler;
}

export class AwsJsonServer {
  readonly calls: AwsCall[] = [];
  /** Server-side time to answer each request (ms), latency included. */
  readonly answerMs: number[] = [];
  latencyMs = 0;
  private faults: InjectedFault[] = [];
  private server?: http.Server;
  url = '';

  constructor(private readonly options: AwsJsonServerOptions) {}

  /** Fail the next call(s) of `op` with this error. */
  inject(fault: InjectedFault): void {
    this.faults.push({ times: 1, ...fault });
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) out[c.op] = (out[c.op] ?? 0) + 1;
    return out;
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  private takeFault(op: string): InjectedFault | undefined {
    const i = this.faults.findIndex((f) => f.op === op || f.op === '*');
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const arrived = performance.now();
      res.on('finish', () => this.answerMs.push(performance.now() - arrived));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    try {
      if (this.options.raw && (await this.options.raw(req, body, res))) return;
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target) {
        const dot = target.lastIndexOf('.');
        const prefix = target.slice(0, dot);
        const op = target.slice(dot + 1);
        const handler = this.options.json?.[prefix];
        let input: Record<string, unknown> = {};
        try {
          input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        } catch {
          return jsonError(res, new AwsError('SerializationException', 'Request body is not valid JSON'));
        }
        this.calls.push({ service: prefix, op, input, at: Date.now() });
        if (!handler) return jsonError(res, new AwsError('UnknownOperationException', `No stand-in for ${target}`));
        const fault = this.takeFault(op);
        if (fault) return jsonError(res, new AwsError(fault.code, fault.message ?? fault.code, fault.status ?? 400));
        try {
          const out = await handler(op, input, req);
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
          res.end(JSON.stringify(out ?? {}));
        } catch (err) {
          jsonError(res, err instanceof AwsError ? err : new AwsError('InternalFailure', String(err), 500));
        }
        return;
      }
      if (this.options.query) {
        const params = new URLSearchParams(body.toString('utf8'));
        const op = params.get('Action') ?? '';
        this.calls.push({ service: 'query', op, input: Object.fromEntries(params), at: Date.now() });
        const fault = this.takeFault(op);
        if (fault) return queryError(res, new AwsError(fault.code, fault.message ?? fault.code, fault.status ?? 400));
        try {
          const xml = await this.options.query(op, params);
          res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
          res.end(xml);
        } catch (err) {
          queryError(res, err instanceof AwsError ? err : new AwsError('InternalFailure', String(err), 500));
        }
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      if (!res.headersSent) jsonError(res, new AwsError('InternalFailure', String(err), 500));
    }
  }
}

export function jsonError(res: http.ServerResponse, e: AwsError): void {
  res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': e.code, 'x-amzn-requestid': randomUUID() });
  res.end(JSON.stringify({ __type: e.code, message: e.message }));
}

export function queryError(res: http.ServerResponse, e: AwsError): void {
  res.writeHead(e.status, { 'content-type': 'text/xml;charset=UTF-8' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xml(e.code)}</Code><Message>${xml(e.message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`);
}

export function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Fake credentials and region for the SDK (and the opsctl binary) to use a stand-in. */
export const FAKE_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_EC2_METADATA_DISABLED: 'true',
} as const;
