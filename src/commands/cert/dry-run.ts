import { rmdir } from 'node:fs/promises';
import { DIRECTORIES, issueCertificate } from './acme.js';
import { buildSolver, type CertDeps, type ObtainSettings } from './obtain.js';
import { certInfo } from './store.js';

/**
 * certbot's --dry-run: a real issuance against the CA's staging directory,
 * so the challenge, DNS, firewall and hooks are all exercised, and nothing
 * is stored (no certificate files, no metadata, no push, no deploy hook).
 * Let's Encrypt production maps to its staging; a directory whose staging
 * twin is unknown (any --directory) is used as it is, and the result says so.
 */
export interface TestIssuance {
  directory: string;
  /** Why this directory. */
  note: string;
  serial: string;
  notAfter: string;
  issuer: string;
}

export function stagingFor(directory: string): { directory: string; note: string } {
  if (directory === DIRECTORIES.production) return { directory: DIRECTORIES.staging, note: `Let's Encrypt production → its staging directory ${DIRECTORIES.staging}` };
  if (directory === DIRECTORIES.staging) return { directory, note: `already Let's Encrypt's staging directory` };
  return { directory, note: `${directory} has no known staging directory: the test certificate comes from it (pass --staging or a staging --directory to spare its rate limits)` };
}

export async function testIssue(s: ObtainSettings, deps: CertDeps): Promise<TestIssuance> {
  const target = stagingFor(s.directory);
  const solver = await buildSolver(s, deps);
  try {
    const issued = await issueCertificate({
      directoryUrl: target.directory,
      email: s.email,
      domains: s.domains,
      keyType: s.keyType,
      solver,
      store: deps.store,
      caBundle: s.caBundle,
      ...(s.profile ? { profile: s.profile } : {}),
      ...(s.eab ? { eab: s.eab } : {}),
      ...deps.transport,
      log: deps.log,
      debug: deps.debug,
      signal: deps.signal,
      now: deps.now,
    });
    const info = certInfo(issued.files.cert);
    return { directory: target.directory, note: target.note, serial: info.serial, notAfter: info.notAfter.toISOString(), issuer: info.issuer };
  } finally {
    // The store may have gained an empty live/<name> from the writability check: a dry run leaves none.
    await rmdir(deps.store.dirFor(s.name)).catch(() => {});
  }
}
