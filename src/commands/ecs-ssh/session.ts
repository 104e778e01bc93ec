/**
 * The hand-off to session-manager-plugin, argv for argv as the AWS CLI does it:
 *   session-manager-plugin SESSION_JSON REGION StartSession PROFILE PARAMS_JSON ENDPOINT
 * `aws ecs execute-command` passes ExecuteCommand's `session` object and the
 * ECS endpoint with params {"Target": "ecs:CLUSTER_TASK_RUNTIMEID"};
 * `aws ssm start-session` passes StartSession's answer, its request, and the SSM endpoint.
 */
import { OpsError, firstLine } from '../../lib/errors.js';
import type { ProcessRunner } from '../../lib/process.js';
import type { EcsApi } from './aws.js';
import type { SessionPlan, Target } from './plan.js';
import { SESSION_MANAGER_PLUGIN } from './route.js';

export interface SessionDeps {
  api: EcsApi;
  runner: ProcessRunner;
  signal?: AbortSignal;
}

export async function runPluginSession(target: Target, deps: SessionDeps, capture = false): Promise<{ exitCode: number; stdout?: string; stderr?: string }> {
  const s = target.session!;
  const { json, params, service } = await openSession(s, target, deps);
  const { region, endpoint, profile } = await deps.api.connection(service);
  const args = [JSON.stringify(json), region, 'StartSession', profile, JSON.stringify(params), endpoint];
  let exitCode = 1;
  try {
    const r = await deps.runner.run({ file: SESSION_MANAGER_PLUGIN, args, stdio: capture ? 'pipe' : 'inherit', signal: deps.signal });
    exitCode = r.exitCode;
    return capture ? { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr } : { exitCode: r.exitCode };
  } finally {
    // A session the plugin did not end cleanly is closed, so it does not linger until its idle timeout.
    const id = (json as { SessionId?: string; sessionId?: string }).SessionId ?? (json as { sessionId?: string }).sessionId;
    if (id && (exitCode !== 0 || deps.signal?.aborted)) await deps.api.terminateSession(id).catch(() => undefined);
  }
}

async function openSession(s: SessionPlan, target: Target, deps: SessionDeps): Promise<{ json: unknown; params: Record<string, unknown>; service: 'ecs' | 'ssm' }> {
  if (s.kind === 'ecs-exec') {
    const r = await deps.api.executeCommand({ cluster: target.cluster, task: target.task.arn, container: target.container.name, command: s.command! }).catch((err: unknown) => {
      throw execRefused(err, target) ?? err;
    });
    return { json: r.session ?? {}, params: { Target: s.target }, service: 'ecs' };
  }
  const request = { Target: s.target, ...(s.document ? { DocumentName: s.document } : {}), ...(s.parameters ? { Parameters: s.parameters } : {}) };
  const r = await deps.api.startSession(request).catch((err: unknown) => {
    throw startRefused(err, target) ?? err;
  });
  return { json: { SessionId: r.SessionId, TokenValue: r.TokenValue, StreamUrl: r.StreamUrl }, params: request, service: 'ssm' };
}

/** ExecuteCommand's own refusals (agent not running, exec not enabled): one line and what to do. */
function execRefused(err: unknown, target: Target): OpsError | undefined {
  const name = (err as { name?: string }).name;
  if (name !== 'TargetNotConnectedException' && name !== 'InvalidParameterException') return undefined;
  return new OpsError(`ECS Exec refused task ${target.task.id}: ${firstLine(err)}`, {
    hint: 'the task needs enableExecuteCommand, a running ECS Exec agent, and a task role allowed ssmmessages:*Channel; new tasks pick up a change after `--force-new-deployment`',
    code: 'ecs-exec-refused',
    cause: err,
  });
}

function startRefused(err: unknown, target: Target): OpsError | undefined {
  const name = (err as { name?: string }).name;
  if (name !== 'TargetNotConnected' && name !== 'InvalidDocument' && name !== 'InvalidParameters' && name !== 'InvalidTarget') return undefined;
  const what = target.session!.target;
  return new OpsError(`SSM refused a session to ${what}: ${firstLine(err)}`, {
    hint: name === 'InvalidDocument' ? `the document ${target.session!.document} is missing in this region or account` : `the SSM Agent on ${what} must be Online (check \`aws ssm describe-instance-information\`)`,
    code: 'ssm-refused',
    cause: err,
  });
}
