import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListHostedZonesCommand, Route53Client, type HostedZone } from '@aws-sdk/client-route-53';
import { createAwsClient, awsCall, type AwsOptions } from '../../lib/aws.js';
import { ExitCode, OpsError } from '../../lib/errors.js';
import type { ChallengeItem, ChallengeSolver } from './acme.js';
import { dnsRecordName, type WaitOptions } from './solvers.js';

/** Route 53 is global; the SDK still wants a region to sign with. */
export function createRoute53(aws: AwsOptions, env: NodeJS.ProcessEnv): Route53Client {
  return createAwsClient(Route53Client, 'Route 53', { ...aws, region: aws.region ?? 'us-east-1' }, env);
}

const stripId = (id: string) => id.replace(/^\/(hostedzone|change)\//, '');

/** The public hosted zone with the longest name that the domain falls under. */
export async function findHostedZone(r53: Route53Client, domain: string, aws: AwsOptions): Promise<HostedZone> {
  const name = domain.replace(/^\*\./, '').toLowerCase() + '.';
  const zones: HostedZone[] = [];
  let marker: string | undefined;
  do {
    const page = await awsCall('route53:ListHostedZones', () => r53.send(new ListHostedZonesCommand({ Marker: marker })), aws);
    zones.push(...(page.HostedZones ?? []));
    marker = page.IsTruncated ? page.NextMarker : undefined;
  } while (marker);
  const matching = zones
    .filter((z) => !z.Config?.PrivateZone && z.Name && (name === z.Name.toLowerCase() || name.endsWith('.' + z.Name.toLowerCase())))
    .sort((a, b) => b.Name!.length - a.Name!.length);
  if (!matching[0]) {
    throw new OpsError(`No public Route 53 hosted zone found for ${domain}.`, {
      hint: zones.length ? `zones in this account: ${zones.map((z) => z.Name).join(', ')}; or pass --hosted-zone-id` : 'check --profile/--region credentials point at the account hosting the zone, or pass --hosted-zone-id',
      exitCode: ExitCode.USAGE,
      code: 'route53-no-zone',
    });
  }
  return matching[0];
}

/**
 * --dns route53: UPSERT the _acme-challenge TXT records (all values for one
 * name in one record set, so example.com and *.example.com work together),
 * wait for INSYNC, and DELETE them afterwards.
 */
export function route53Solver(r53: Route53Client, aws: AwsOptions, hostedZoneId: string | undefined, wait: WaitOptions, log: (m: string) => void): ChallengeSolver {
  const sleep = wait.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const zoneFor = new Map<string, string>();
  const changeBatches = (items: ChallengeItem[], action: 'UPSERT' | 'DELETE') => {
    const byZone = new Map<string, Map<string, Set<string>>>();
    for (const item of items) {
      const zone = zoneFor.get(item.domain)!;
      const names = byZone.get(zone) ?? new Map<string, Set<string>>();
      const name = dnsRecordName(item);
      names.set(name, (names.get(name) ?? new Set()).add(`"${item.dnsValue}"`));
      byZone.set(zone, names);
    }
    return [...byZone].map(([zone, names]) => ({
      zone,
      changes: [...names].map(([Name, values]) => ({ Action: action, ResourceRecordSet: { Name, Type: 'TXT' as const, TTL: 60, ResourceRecords: [...values].map((Value) => ({ Value })) } })),
    }));
  };
  const waitInSync = async (changeId: string) => {
    const deadline = Date.now() + wait.timeoutMs;
    for (;;) {
      const r = await awsCall('route53:GetChange', () => r53.send(new GetChangeCommand({ Id: stripId(changeId) })), aws);
      if (r.ChangeInfo?.Status === 'INSYNC') return;
      if (Date.now() >= deadline) throw new OpsError(`Route 53 change ${stripId(changeId)} was not INSYNC after ${Math.round(wait.timeoutMs / 1000)}s.`, { hint: 'Route 53 is slow right now; retry in a few minutes', code: 'route53-timeout' });
      await sleep(wait.intervalMs);
    }
  };
  return {
    name: 'dns',
    challengeType: 'dns-01',
    batchSize: Infinity,
    async present(items) {
      for (const item of items) {
        if (!zoneFor.has(item.domain)) zoneFor.set(item.domain, hostedZoneId ? stripId(hostedZoneId) : stripId((await findHostedZone(r53, item.domain, aws)).Id!));
      }
      const ids: string[] = [];
      for (const { zone, changes } of changeBatches(items, 'UPSERT')) {
        log(`Route 53 zone ${zone}: UPSERT ${changes.map((c) => c.ResourceRecordSet.Name).join(', ')} TXT`);
        const r = await awsCall(
          'route53:ChangeResourceRecordSets',
          () => r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Comment: 'opsctl cert: ACME DNS-01 challenge', Changes: changes } })),
          aws,
        ).catch((err) => {
          throw err instanceof OpsError ? err : new OpsError(`Route 53 refused the TXT change in zone ${zone}: ${(err as Error).message}`, { hint: 'check --hosted-zone-id is the zone of this domain', code: 'route53-change-failed', cause: err });
        });
        ids.push(r.ChangeInfo!.Id!);
      }
      log('waiting for Route 53 to report the change INSYNC');
      await Promise.all(ids.map(waitInSync));
    },
    async cleanup(items) {
      for (const { zone, changes } of changeBatches(items.filter((i) => zoneFor.has(i.domain)), 'DELETE')) {
        await awsCall('route53:ChangeResourceRecordSets', () => r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Comment: 'opsctl cert: remove ACME challenge', Changes: changes } })), aws);
      }
    },
  };
}
