import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterNextRequestSent } from '../../src/lib/in-flight.js';

// A server that answers only once told to: work done "while the request is in
// flight" must have run after the request arrived and before the answer.
async function slowServer() {
  const events: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = http.createServer((req, res) => {
    events.push(`server got ${req.url}`);
    void released.then(() => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { events, release, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** GET, noting when the request was fully written and when the answer came. */
const get = (url: string, events: string[] = []) =>
  new Promise<string>((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (events.push(`answer ${url.slice(url.lastIndexOf('/'))}`), resolve(body)));
    });
    req.on('finish', () => events.push('sent'));
    req.on('error', reject);
  });

describe('afterNextRequestSent', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('runs the tasks once the next request is out, before its answer; a throwing task does not stop the others; only the first request counts', async () => {
    const s = await slowServer();
    close = s.close;
    afterNextRequestSent([
      () => s.events.push('task 1'),
      () => {
        throw new Error('ignored');
      },
      () => {
        s.events.push('task 3');
        s.release();
      },
    ]);
    expect(s.events).toEqual([]);
    // the server holds its answer until task 3 releases it: the tasks ran while the request was out
    expect(await get(`${s.url}/first`, s.events)).toBe('ok');
    expect(s.events.filter((e) => !e.startsWith('server'))).toEqual(['sent', 'task 1', 'task 3', 'answer /first']);
    expect(s.events).toContain('server got /first');
    s.events.length = 0;
    await get(`${s.url}/second`, s.events);
    expect([...s.events].sort()).toEqual(['answer /second', 'sent', 'server got /second']);
  });

  it('cancelled before any request: nothing runs', async () => {
    const s = await slowServer();
    close = s.close;
    const cancel = afterNextRequestSent([() => s.events.push('task')]);
    cancel();
    s.release();
    await get(`${s.url}/x`, s.events);
    await new Promise((r) => setImmediate(r));
    expect([...s.events].sort()).toEqual(['answer /x', 'sent', 'server got /x']);
  });
});
