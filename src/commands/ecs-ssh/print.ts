import { table, type Output } from '../../lib/output.js';
import { escapeControl, escapeLine } from '../../lib/terminal.js';
import type { Target } from './plan.js';
import type { EcsSshResult } from './run.js';
import { hostLabel, type TaskView } from './tasks.js';

/** The JSON shape of one target (--print --json, --all --json). */
export function targetJson(t: Target) {
  const i = t.task.instance;
  return {
    cluster: t.cluster,
    service: t.service ?? null,
    task: { id: t.task.id, arn: t.task.arn, lastStatus: t.task.lastStatus, availabilityZone: t.task.availabilityZone ?? null, startedAt: t.task.startedAt ?? null, revision: t.task.revision ?? null, launchType: t.task.launchType },
    container: { name: t.container.name, runtimeId: t.container.runtimeId ?? null },
    instance: i ? { id: i.id, nameTag: i.nameTag ?? null, privateIp: i.privateIp ?? null, privateDns: i.privateDns ?? null, publicIp: i.publicIp ?? null, publicDns: i.publicDns ?? null } : null,
    via: t.via,
    reasons: t.reasons,
    ssh: t.ssh ? { host: t.ssh.host, hostSource: t.ssh.source, user: t.ssh.user ?? null, configFile: t.ssh.configFile ?? null, hostname: t.ssh.hostname, port: t.ssh.port, proxyJump: t.ssh.proxyJump ?? null } : null,
    session: t.session ?? null,
    forward: t.forward ?? null,
    containerCommand: t.containerCommand,
    command: { file: t.command.file, args: t.command.args },
    commandLine: t.commandLine,
    exitCodeRecovered: t.exitCodeRecovered,
  };
}

function taskJson(t: TaskView) {
  return {
    id: t.id,
    arn: t.arn,
    service: t.service ?? null,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus ?? null,
    availabilityZone: t.availabilityZone ?? null,
    startedAt: t.startedAt ?? null,
    revision: t.revision ?? null,
    launchType: t.launchType,
    host: hostLabel(t),
    instance: t.instance ?? null,
    containers: t.containers,
  };
}

/** The JSON document for --json (cli.ts prints it). */
export function resultJson(r: EcsSshResult): unknown {
  switch (r.action) {
    case 'list':
      return { cluster: r.cluster, service: r.service ?? null, tasks: r.tasks.map(taskJson) };
    case 'print':
      return r.targets.length === 1 ? targetJson(r.targets[0]!) : r.targets.map(targetJson);
    case 'exec':
      return { ...targetJson(r.target), exitCode: r.exitCode };
    case 'forward':
      return { ...targetJson(r.target), local: r.local, exitCode: r.exitCode };
    case 'all':
      return r.results.map((x) => ({ ...targetJson(x.target), exitCode: x.exitCode, ...(x.stdout !== undefined ? { stdout: x.stdout, stderr: x.stderr } : {}) }));
  }
}

const e = (s: string | undefined) => (s === undefined ? undefined : escapeLine(s));

/** Human text on stdout; nothing for a plain session (its output was the session). */
export function printResult(r: EcsSshResult, out: Output): void {
  switch (r.action) {
    case 'list':
      if (r.tasks.length === 0) return out.info(`No running tasks${r.service ? ` for service ${e(r.service)}` : ''} in cluster ${e(r.cluster)}.`);
      out.line(
        table(
          ['TASK', 'SERVICE', 'STATUS', 'AZ', 'HOST', 'INSTANCE', 'CONTAINERS', 'STARTED', 'REV'],
          r.tasks.map((t) => [t.id, t.service ?? '-', t.lastStatus, t.availabilityZone ?? '-', hostLabel(t), t.instance?.id ?? '-', t.containers.map((c) => c.name).join(','), t.startedAt ?? '-', t.revision ?? '-'].map((c) => escapeLine(String(c)))),
        ),
      );
      return;
    case 'print':
      r.targets.forEach((t, n) => {
        if (n > 0) out.line();
        const i = t.task.instance;
        const rows: Array<[string, string | undefined]> = [
          ['cluster', t.cluster],
          ['service', t.service],
          ['task', `${t.task.id} (${t.task.lastStatus}, ${t.task.availabilityZone ?? '-'}, rev ${t.task.revision ?? '-'}, started ${t.task.startedAt ?? '-'})`],
          ['container', t.container.name],
          ['runtime id', t.container.runtimeId],
          ['instance', i?.id ?? `none (${t.task.launchType})`],
          ['private ip', i?.privateIp],
          ['public ip', i?.publicIp],
          ['name tag', i?.nameTag],
          ['via', t.via === 'ssh' ? 'ssh' : t.via === 'ssm' ? 'SSM Session Manager' : 'ECS Exec'],
          ['ssh host', t.ssh ? `${t.ssh.host} (${t.ssh.source.replace(/-/g, ' ')}${t.ssh.user ? `, user ${t.ssh.user}` : ''}; resolves to ${t.ssh.hostname}:${t.ssh.port}${t.ssh.proxyJump ? ` via ${t.ssh.proxyJump}` : ''})` : undefined],
          ['session', t.session ? `${t.session.target}${t.session.document ? ` (${t.session.document})` : ''}` : undefined],
          ['forward', t.forward ? `${t.forward.local} → ${t.forward.destination} (${t.forward.what})` : undefined],
        ];
        for (const [k, v] of rows) if (v) out.line(`${(k + ':').padEnd(12)}${escapeLine(v)}`);
        for (const reason of t.reasons) out.line(`${'why:'.padEnd(12)}${escapeLine(reason)}`);
        out.line(escapeControl(t.commandLine));
      });
      return;
    case 'exec':
    case 'forward':
      return;
    case 'all':
      out.line(table(['TASK', 'HOST', 'CONTAINER', 'EXIT'], r.results.map((x) => [x.target.task.id, escapeLine(x.target.ssh?.host ?? (x.target.via === 'ssm' ? `SSM ${x.target.task.instance?.id}` : 'ECS Exec')), escapeLine(x.target.container.name), x.exitCode])));
      return;
  }
}
