/**
 * The `pg` driver, loaded once for every pg command.
 *
 * When it loads, pg probes for Cloudflare Workers; where `navigator` is
 * missing (Node 20) the probe constructs a fetch Response, which pulls in
 * Node's whole fetch implementation — tens of milliseconds of every run.
 * Node 21+ answer the probe from navigator.userAgent; on Node 20 we give that
 * answer for the duration of the import only.
 */
const g = globalThis as { navigator?: unknown };
const shim = !('navigator' in g);
if (shim) Object.defineProperty(g, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true });
const { default: pg } = await import('pg');
if (shim) delete g.navigator;

export default pg;
