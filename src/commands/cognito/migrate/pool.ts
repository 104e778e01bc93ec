/** Reading the target pool: its schema, username setup and groups. */
import { DescribeUserPoolCommand, ListGroupsCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { awsCall } from '../../../lib/aws.js';
import { ExitCode, OpsError } from '../../../lib/errors.js';
import type { PoolAttribute, PoolInfo } from './mapping.js';

const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

export async function describePool(client: CognitoIdentityProviderClient, poolId: string): Promise<PoolInfo> {
  let res;
  try {
    res = await awsCall('cognito-idp:DescribeUserPool', () => client.send(new DescribeUserPoolCommand({ UserPoolId: poolId })));
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') {
      throw new OpsError(`User pool ${poolId} does not exist (or not in this region).`, { exitCode: ExitCode.USAGE, code: 'pool-not-found', hint: 'check --user-pool-id and --region (the pool id starts with its region)' });
    }
    if ((err as Error).name === 'InvalidParameterException') {
      throw new OpsError(`"${poolId}" is not a valid user pool id: ${(err as Error).message}`, { exitCode: ExitCode.USAGE, code: 'usage', hint: 'pool ids look like eu-west-1_AbCdEf123' });
    }
    throw err;
  }
  const p = res.UserPool ?? {};
  const attributes = new Map<string, PoolAttribute>();
  for (const a of p.SchemaAttributes ?? []) {
    if (!a.Name) continue;
    attributes.set(a.Name, {
      name: a.Name,
      type: (a.AttributeDataType ?? 'String') as PoolAttribute['type'],
      required: Boolean(a.Required),
      mutable: a.Mutable !== false,
      minLength: num(a.StringAttributeConstraints?.MinLength),
      maxLength: num(a.StringAttributeConstraints?.MaxLength),
      minValue: num(a.NumberAttributeConstraints?.MinValue),
      maxValue: num(a.NumberAttributeConstraints?.MaxValue),
    });
  }
  return {
    id: poolId,
    name: p.Name,
    usernameAttributes: p.UsernameAttributes ?? [],
    // Pools created without UsernameConfiguration compare usernames case-sensitively.
    caseSensitive: p.UsernameConfiguration?.CaseSensitive ?? true,
    attributes,
    migrationTrigger: p.LambdaConfig?.UserMigration,
  };
}

export async function listGroups(client: CognitoIdentityProviderClient, poolId: string): Promise<Set<string>> {
  const names = new Set<string>();
  let token: string | undefined;
  do {
    const res = await awsCall('cognito-idp:ListGroups', () => client.send(new ListGroupsCommand({ UserPoolId: poolId, NextToken: token, Limit: 60 })));
    for (const g of res.Groups ?? []) if (g.GroupName) names.add(g.GroupName);
    token = res.NextToken;
  } while (token);
  return names;
}
