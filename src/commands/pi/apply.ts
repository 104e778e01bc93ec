/**
 * Carries a plan out on the target. Before a path is first changed its
 * original is copied under /var/lib/opsctl/pi-audio/backup and recorded in the
 * manifest (once: later runs never overwrite the original backup), so uninstall
 * can put everything back byte for byte.
 */
import { createHash } from 'node:crypto';
import { OpsError } from '../../lib/errors.js';
import { formatCommand } from '../../lib/process.js';
import type { FileOp, TargetSystem } from './target.js';
import { bluetoothctlError, parseDeviceInfo } from './bluetooth.js';
import { timed, timedOut, timeoutMessage } from './timeouts.js';
import type { Manifest } from './facts.js';
import type { Change, Plan } from './plan.js';
import { PATHS } from './recipe.js';

export type ChangeStatus = 'done' | 'not-run';
export interface AppliedChange {
  step: string;
  change: Change;
  status: ChangeStatus;
}

export interface ApplyHooks {
  /** Called before each change (progress on stderr). */
  onChange?: (step: string, change: Change) => void;
  signal?: AbortSignal;
  /** false for uninstall: no backups, no manifest writes. */
  record?: boolean;
}

export const emptyManifest = (): Manifest => ({ version: 1, files: {}, groups: [], packages: [], speakers: [] });


export const backupPath = (file: string) => `${PATHS.backupDir}${file}`;

/** Records a path before its first change; returns the backup to write, if any. */
function remember(manifest: Manifest, change: Extract<Change, { path: string }>): FileOp | undefined {
  if (manifest.files[change.path]) return undefined;
  const b = change.before;
  if (b.type === 'file') {
    manifest.files[change.path] = { existed: true, backup: backupPath(change.path), mode: b.mode & 0o7777, ...owner(b), sha256: sha256(b.content) };
    return { op: 'write', path: backupPath(change.path), content: b.content, mode: b.mode & 0o7777, ...owner(b) };
  }
  manifest.files[change.path] = b.type === 'symlink' ? { existed: true, link: b.target } : { existed: false };
  return undefined;
}

const manifestOp = (manifest: Manifest): FileOp => ({ op: 'write', path: PATHS.manifest, content: JSON.stringify(manifest, null, 2) + '\n', mode: 0o644 });

const owner = (e: { uid?: number; gid?: number }) => (e.uid !== undefined ? { uid: e.uid, gid: e.gid } : {});
export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** An edited file keeps its owner and group (the mode is the change's own). */
const fileOp = (c: Extract<Change, { path: string }>): FileOp =>
  c.kind === 'write' ? { op: 'write', path: c.path, content: c.after, mode: c.mode, ...(c.owner ?? (c.before.type === 'file' ? owner(c.before) : {})) } : c.kind === 'link' ? { op: 'link', path: c.path, target: c.target } : { op: 'remove', path: c.path, tree: c.before.type === 'dir' };

/** The line of a failed command's output that says why (apt's "E: …", else the last line). */
function failureLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(E:|error|Error|usermod:|gpasswd:|Failed|sudo:)/.test(l)) ?? lines[lines.length - 1] ?? 'no output';
}

type RunChange = Extract<Change, { kind: 'run' }>;

/**
 * Consecutive changes of one kind go to the target together: file changes
 * (with their backups and the manifest written first) as one batch, commands
 * as one batch that stops at the first failure.
 */
export async function applyPlan(target: TargetSystem, plan: Plan, manifest: Manifest, hooks: ApplyHooks = {}): Promise<AppliedChange[]> {
  const done: AppliedChange[] = [];
  const record = hooks.record !== false;
  for (const step of plan.steps) {
    const changes = step.changes;
    for (let i = 0; i < changes.length; ) {
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      const isRun = changes[i]!.kind === 'run';
      let j = i;
      while (j < changes.length && (changes[j]!.kind === 'run') === isRun) j++;
      const group = changes.slice(i, j);
      for (const c of group) hooks.onChange?.(step.id, c);
      if (isRun) done.push(...(await runGroup(target, step.id, group as RunChange[], manifest, record)));
      else {
        const files = group as Array<Extract<Change, { path: string }>>;
        const ops: FileOp[] = [];
        if (record) {
          for (const c of files) {
            const backup = remember(manifest, c);
            if (backup) ops.push(backup);
            if (c.kind === 'write' && c.members && c.path === PATHS.group) manifest.groups.push(...c.members);
            // What setup wrote, so uninstall can tell a later edit by someone else.
            if (c.kind === 'write') (manifest.written ??= {})[c.path] = sha256(c.after);
          }
          if (step.speaker && !manifest.speakers.includes(step.speaker)) manifest.speakers.push(step.speaker);
          ops.push(manifestOp(manifest));
        }
        ops.push(...files.map(fileOp));
        await target.applyFiles(ops);
        done.push(...files.map((change) => ({ step: step.id, change, status: 'done' as const })));
      }
      i = j;
    }
  }
  return done;
}

async function runGroup(target: TargetSystem, stepId: string, group: RunChange[], manifest: Manifest, record: boolean): Promise<AppliedChange[]> {
  if (!target.live) return group.map((change) => ({ step: stepId, change, status: 'not-run' as const }));
  const done: AppliedChange[] = [];
  let changed = false;
  for (let k = 0; k < group.length; ) {
    // A change with a follow-up check goes alone, so the check runs right after it.
    const verifyAt = group.slice(k).findIndex((c) => c.bluetooth?.verify);
    const batch = group.slice(k, verifyAt < 0 ? undefined : k + verifyAt + 1);
    const results = await target.execMany(batch.map((c) => ({ ...timed(c.cmd), optional: c.optional })));
    if (results.length === 0) throw new OpsError(`no answer from ${target.label} while running ${commandLine(group[k]!)}`, { code: 'command-failed' });
    for (const res of results) {
      const change = group[k]!;
      const cmd = timed(change.cmd);
      if (timedOut(res) && !change.optional && change.bluetooth?.action !== 'scan') {
        throw new OpsError(`${timeoutMessage(cmd)} on ${target.label}.`, { code: 'timeout', hint: 'nothing after it was run; fix the cause and run the same opsctl command again' });
      }
      if (change.bluetooth) {
        const err = bluetoothctlError(change.bluetooth.action, change.bluetooth.mac, res);
        if (err) throw err;
        if (change.bluetooth.verify) await verifyDevice(target, change.bluetooth.mac, change.bluetooth.verify);
      } else if (res.exitCode !== 0 && !change.optional) {
        throw new OpsError(`\`${commandLine(change)}\` failed on ${target.label} (exit ${res.exitCode}): ${failureLine(res.stdout + res.stderr)}`, {
          code: 'command-failed',
          hint: 'fix the cause and run the same opsctl command again: finished steps are not repeated',
        });
      }
      if (record && change.group) {
        manifest.groups.push(change.group);
        changed = true;
      }
      if (record && change.cmd.argv[0] === 'apt-get' && change.cmd.argv[1] === 'install') {
        manifest.packages.push(...change.cmd.argv.slice(2).filter((a) => /^[a-z0-9][a-z0-9.+-]+$/.test(a)));
        changed = true;
      }
      done.push({ step: stepId, change, status: 'done' });
      k++;
    }
  }
  if (changed) await target.applyFiles([manifestOp(manifest)]);
  return done;
}

/** bluetoothctl --timeout exits 0 whatever happened: read the state back. */
async function verifyDevice(target: TargetSystem, mac: string, field: 'paired' | 'trusted'): Promise<void> {
  const cmd = timed({ argv: ['bluetoothctl', 'info', mac] }, `bluetoothd to describe ${mac}`);
  const [res] = await target.execMany([cmd]);
  const info = parseDeviceInfo(res?.stdout ?? '');
  if (info?.[field]) return;
  const detail = res && timedOut(res) ? timeoutMessage(cmd) : info ? `bluetoothctl info ${mac} says ${field === 'paired' ? 'Paired' : 'Trusted'}: no` : `BlueZ does not know ${mac}`;
  throw new OpsError(`${field === 'paired' ? 'Pairing' : 'Trusting'} ${mac} did not take effect (${detail}); the reconnect timer was not enabled.`, {
    code: field === 'paired' ? 'pairing-failed' : 'trust-failed',
    hint: `put the speaker in pairing mode (usually: hold its Bluetooth button until it blinks) and run \`opsctl pi audio pair ${mac}\` again`,
  });
}

const commandLine = (c: RunChange) => formatCommand({ file: c.cmd.argv[0]!, args: c.cmd.argv.slice(1) });
