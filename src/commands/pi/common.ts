/**
 * Shared by the pi audio subcommands: which target the flags name, and the
 * Bluetooth state a plan needs.
 */
import type { Context } from '../../lib/context.js';
import { localTarget, type TargetSystem } from './target.js';
import { remoteTarget } from './remote.js';
import { parseController, parseDeviceInfo, type DeviceInfo } from './bluetooth.js';
import type { Facts } from './facts.js';
import type { Change } from './plan.js';
import { describeChange } from './print.js';

export interface TargetFlags {
  host?: string;
  root?: string;
  sshConfig?: string;
}

export function makeTarget(flags: TargetFlags, ctx: Pick<Context, 'runner' | 'env'>): TargetSystem {
  if (flags.host) return remoteTarget({ runner: ctx.runner, host: flags.host, sshConfig: flags.sshConfig, root: flags.root, env: ctx.env });
  return localTarget({ runner: ctx.runner, root: flags.root, env: ctx.env });
}

/** Controller power and the speaker's pairing state, when BlueZ is there to ask. */
export async function bluetoothState(target: TargetSystem, facts: Facts, mac: string): Promise<{ powered?: boolean; device?: DeviceInfo }> {
  if (!target.live || !facts.installed.has('bluez')) return {};
  const [show, info] = await target.execMany([
    { argv: ['bluetoothctl', 'show'], optional: true },
    { argv: ['bluetoothctl', 'info', mac], optional: true },
  ]);
  return { powered: parseController(show?.stdout ?? '')?.powered, device: parseDeviceInfo(info?.stdout ?? '') };
}

/** Progress on stderr as each change starts: commands that really run always, the rest with --verbose. */
export function progressHook(ctx: Pick<Context, 'out'>, target: TargetSystem): (step: string, change: Change) => void {
  return (_step, c) => (c.kind === 'run' && target.live ? ctx.out.info(describeChange(c).replace(/^run +/, '→ ')) : ctx.out.log(describeChange(c)));
}
