/**
 * Shared by the pi audio subcommands: which target the flags name, and the
 * Bluetooth state a plan needs.
 */
import type { Context } from '../../lib/context.js';
import { flag, type Flags } from '../../lib/command.js';
import { ExitCode, OpsError } from '../../lib/errors.js';
import { localTarget, type TargetSystem } from './target.js';
import { remoteTarget } from './remote.js';
import { parseController, parseDeviceInfo, type DeviceInfo } from './bluetooth.js';
import type { Facts } from './facts.js';
import type { Change } from './plan.js';
import { describeChange } from './print.js';
import { timed } from './timeouts.js';

export interface TargetFlags {
  host?: string;
  root?: string;
  sshConfig?: string;
}

/** --host, --root, --ssh-config as typed options. */
export function targetFlags(flags: Flags): TargetFlags {
  return { host: flag.string(flags, 'host'), root: flag.string(flags, 'root'), sshConfig: flag.string(flags, 'sshConfig') };
}

export function makeTarget(flags: TargetFlags, ctx: Pick<Context, 'runner' | 'env'> & Partial<Pick<Context, 'signal'>>): TargetSystem {
  if (flags.host) return remoteTarget({ runner: ctx.runner, host: flags.host, sshConfig: flags.sshConfig, root: flags.root, env: ctx.env, signal: ctx.signal });
  return localTarget({ runner: ctx.runner, root: flags.root, env: ctx.env, signal: ctx.signal });
}

/** Controller power and the speaker's pairing state, when BlueZ is there to ask. */
export async function bluetoothState(target: TargetSystem, facts: Facts, mac: string): Promise<{ powered?: boolean; device?: DeviceInfo }> {
  if (!target.live || !facts.installed.has('bluez')) return {};
  const [show, info] = await target.execMany([
    { ...timed({ argv: ['bluetoothctl', 'show'] }, 'bluetoothd to describe the controller'), optional: true },
    { ...timed({ argv: ['bluetoothctl', 'info', mac] }, `bluetoothd to describe ${mac}`), optional: true },
  ]);
  return { powered: parseController(show?.stdout ?? '')?.powered, device: parseDeviceInfo(info?.stdout ?? '') };
}

/** Progress on stderr as each change starts: commands that really run always, the rest with --verbose. */
export function progressHook(ctx: Pick<Context, 'out'>, target: TargetSystem): (step: string, change: Change) => void {
  return (_step, c) => (c.kind === 'run' && target.live ? ctx.out.info(describeChange(c).replace(/^run +/, '→ ')) : ctx.out.log(describeChange(c)));
}

/**
 * SIGTERM and SIGHUP end the process without running `finally`: the target is
 * closed synchronously first (ssh control master, temp dir). Ctrl-C goes
 * through the run's AbortSignal instead and closes normally. A rerun resumes
 * from what is on the target. Returns the unregister function.
 */
export function closeOnSignal(target: TargetSystem): () => void {
  if (!target.closeSync) return () => {};
  const onExit = () => target.closeSync!();
  const handlers = (['SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const h = () => {
      if (process.env.OPSCTL_DEBUG_SIGNALS) process.stderr.write(`opsctl: ${sig}: closing the target\n`);
      target.closeSync!();
      process.exit(128 + (sig === 'SIGTERM' ? 15 : 1));
    };
    // `on`, not `once`: a listener that removed itself would leave signal-exit (loaded by the prompt library)
    // alone on the signal, and it re-raises the signal to die without our cleanup.
    process.on(sig, h);
    return [sig, h] as const;
  });
  process.once('exit', onExit);
  return () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
    process.removeListener('exit', onExit);
  };
}

/** Open the target, close it on SIGTERM/SIGHUP too, run `work`, and always close it after. */
export async function withTarget<T>(flags: TargetFlags, ctx: Pick<Context, 'runner' | 'env'> & Partial<Pick<Context, 'signal'>>, work: (target: TargetSystem) => Promise<T>): Promise<T> {
  const target = makeTarget(flags, ctx);
  const unregister = closeOnSignal(target);
  try {
    return await work(target);
  } finally {
    unregister();
    await target.close();
  }
}

export type SoundServerChoice = 'auto' | 'pulseaudio' | 'pipewire';

/** --sound-server auto|pulseaudio|pipewire (exit 2 otherwise). */
export function soundServerFlag(flags: Flags): SoundServerChoice {
  const v = flag.string(flags, 'soundServer') ?? 'auto';
  if (v === 'auto' || v === 'pulseaudio' || v === 'pipewire') return v;
  throw new OpsError(`--sound-server must be auto, pulseaudio or pipewire, got "${v}".`, { exitCode: ExitCode.USAGE, code: 'usage', hint: 'auto picks PipeWire where it is installed already, else PulseAudio in system mode' });
}
