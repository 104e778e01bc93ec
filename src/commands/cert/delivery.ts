import { isOpsError } from '../../lib/errors.js';
import { runHook, type HookDeps } from './hooks.js';
import { planPush, type PushDeps } from './targets.js';
import { DEPLOY_HOOK, describeTarget, pendingDeliveries, sameTarget, type CertStore, type Delivery, type PushTarget, type StoredCert } from './store.js';

/**
 * Delivery state that cannot forget: every push target and the deploy hook
 * has its last attempt stored in the certificate's metadata, with the serial
 * it was for. A place that failed, or holds an older certificate, is pending,
 * and every `cert renew` tries it again until it succeeds.
 */
export interface DeliveryResult {
  target: string;
  ok: boolean;
  error?: string;
  hint?: string;
}

export type DeliverDeps = PushDeps & HookDeps & { store: CertStore; now: () => Date };

/** Deliver the stored certificate to every pending place, recording each result as it lands. */
export async function deliverPending(cert: StoredCert, deps: DeliverDeps): Promise<DeliveryResult[]> {
  const pending = pendingDeliveries(cert.meta);
  if (pending.length === 0) return [];
  const files = await deps.store.readFiles(cert);
  const out: DeliveryResult[] = [];
  for (const { label } of pending) {
    if (deps.signal?.aborted) break;
    const at = deps.now().toISOString();
    try {
      if (label === DEPLOY_HOOK) {
        await runHook('deploy', cert.meta.hooks!.deploy!, cert.meta, cert.dir, deps);
        await recordDelivery(deps.store, cert, label, { ok: true, at, serial: cert.meta.serial });
      } else {
        const target = cert.meta.pushTargets.find((t) => describeTarget(t) === label)!;
        const plan = await planPush(target, cert.meta, files, deps);
        const done = await plan.execute();
        await recordDelivery(deps.store, cert, label, { ok: true, at, serial: cert.meta.serial }, done);
      }
      out.push({ target: label, ok: true });
    } catch (err) {
      const e = describeError(err);
      await recordDelivery(deps.store, cert, label, { ok: false, at, serial: cert.meta.serial, error: e.message, ...(e.hint ? { hint: e.hint } : {}) });
      out.push({ target: label, ok: false, error: e.message, hint: e.hint });
    }
  }
  return out;
}

/**
 * Store one attempt (re-reading the metadata first: another delivery of the
 * same run may have written it). `target` replaces the stored target when the
 * push learned something (an ACM ARN, a Heroku SNI endpoint), or adds it.
 */
export async function recordDelivery(store: CertStore, cert: StoredCert, label: string, delivery: Delivery, target?: PushTarget): Promise<void> {
  const fresh = (await store.read(cert.meta.name)) ?? cert;
  let targets = fresh.meta.pushTargets;
  let key = label;
  if (target) {
    const idx = targets.findIndex((t) => sameTarget(t, target));
    targets = idx < 0 ? [...targets, target] : targets.map((t, i) => (i === idx ? target : t));
    // An ACM import learns its ARN: the label changes with it.
    key = describeTarget(target);
  }
  const deliveries = { ...fresh.meta.deliveries };
  if (key !== label) delete deliveries[label];
  deliveries[key] = delivery;
  const meta = { ...fresh.meta, pushTargets: targets, deliveries };
  await store.writeMeta(fresh.dir, meta);
  cert.meta = meta;
}

export function describeError(err: unknown): { message: string; hint?: string; code: string } {
  if (isOpsError(err)) return { message: err.message, hint: err.hint, code: err.code };
  return { message: (err as Error)?.message ?? String(err), code: 'unexpected' };
}
