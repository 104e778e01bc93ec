/**
 * The `pg` driver, loaded once for every pg command.
 *
 * When it loads, pg probes for Cloudflare Workers (pg/lib/stream.js, at module
 * load only); where `navigator` is missing (Node 20) the probe constructs a
 * fetch Response, which pulls in Node's whole fetch implementation — tens of
 * milliseconds of every run. Node 21+ answer the probe from
 * navigator.userAgent; on Node 20 we give that answer for the duration of the
 * import only, and take it back whatever happens.
 */
export async function withNodeNavigator<T>(load: () => Promise<T>): Promise<T> {
  const g = globalThis as { navigator?: unknown };
  if ('navigator' in g) return load();
  const shim = { userAgent: `Node.js/${process.versions.node}` };
  Object.defineProperty(g, 'navigator', { value: shim, configurable: true, enumerable: false, writable: false });
  try {
    return await load();
  } finally {
    // Only our own shim: never remove a navigator something else installed meanwhile.
    if (Object.getOwnPropertyDescriptor(g, 'navigator')?.value === shim) delete g.navigator;
  }
}

const { default: pg } = await withNodeNavigator(() => import('pg'));

export default pg;
