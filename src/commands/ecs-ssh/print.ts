import { table, type Output } from '../../lib/output.js';
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
    ssh: t.ssh ? { host: t.ssh.host, hostSource: t.ssh.source, user: t.ssh.user ?? null, configFile: t.ssh.configFile ?? null } : null,
    containerCommand: t.containerCommand,
    command: { file: t.command.file, args: t.command.args },
    commandLine: t.commandLine,
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

/** Human text on stdout, or one JSON document; nothing for a plain session (its output was the session). */
export function printResult(r: EcsSshResult, out: Output): void {
  switch (r.action) {
    case 'list':
      if (out.json) return out.data({ cluster: r.cluster, service: r.service ?? null, tasks: r.tasks.map(taskJson) });
      if (r.tasks.length === 0) return out.info(`No running tasks${r.service ? ` for service ${r.service}` : ''} in cluster ${r.cluster}.`);
      out.line(
        table(
          ['TASK', 'SERVICE', 'STATUS', 'AZ', 'HOST', 'INSTANCE', 'CONTAINERS', 'STARTED', 'REV'],
          r.tasks.map((t) => [t.id, t.service ?? '-', t.lastStatus, t.availabilityZone ?? '-', hostLabel(t), t.instance?.id ?? '-', t.containers.map((c) => c.name).join(','), t.startedAt ?? '-', t.revision ?? '-']),
        ),
      );
      return;
    case 'print':
      if (out.json) return out.data(r.targets.length === 1 ? targetJson(r.targets[0]!) : r.targets.map(targetJson));
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
          ['ssh host', t.ssh ? `${t.ssh.host} (${t.ssh.source.replace(/-/g, ' ')}${t.ssh.user ? `, user ${t.ssh.user}` : ''})` : t.via === 'ecs-exec' ? 'none: ECS Exec' : undefined],
        ];
        for (const [k, v] of rows) if (v) out.line(`${(k + ':').padEnd(12)}${v}`);
        out.line(t.commandLine);
      });
      return;
    case 'exec':
      return;
    case 'all':
      if (out.json) {
        return out.data(r.results.map((x) => ({ ...targetJson(x.target), exitCode: x.exitCode, ...(x.stdout !== undefined ? { stdout: x.stdout, stderr: x.stderr } : {}) })));
      }
      out.line(table(['TASK', 'HOST', 'CONTAINER', 'EXIT'], r.results.map((x) => [x.target.task.id, x.target.ssh?.host ?? 'ECS Exec', x.target.container.name, x.exitCode])));
      return;
  }
}
