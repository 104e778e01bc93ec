import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

const REQUEST_START = 'http.client.request.start';

/**
 * Run `tasks` once the next HTTP(S) request this process makes has been
 * written out, i.e. while the server is answering: work that is needed
 * later (loading a module, reading a file) then costs no wall time. Tasks
 * must not throw (failures belong to the code that needs their result);
 * any that do are ignored. Returns a function that cancels tasks not yet run.
 */
export function afterNextRequestSent(tasks: Array<() => void>): () => void {
  let cancelled = false;
  const run = () => {
    for (const task of tasks) {
      if (cancelled) return;
      try {
        task();
      } catch {
        /* see above: whoever needs the result meets the error */
      }
    }
  };
  const onStart = (message: unknown) => {
    diagnostics.unsubscribe(REQUEST_START, onStart);
    const request = (message as { request?: ClientRequest }).request;
    // 'finish': the request has been handed to the socket; setImmediate lets
    // any I/O already queued (e.g. the socket write) go first.
    if (request) request.once('finish', () => setImmediate(run));
    else setImmediate(run);
  };
  diagnostics.subscribe(REQUEST_START, onStart);
  return () => {
    cancelled = true;
    diagnostics.unsubscribe(REQUEST_START, onStart);
  };
}
