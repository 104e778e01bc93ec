/** Reading the pool's users back (verify, repair, links after an import job), page by page. */
import { ListUsersCommand, ListUsersInGroupCommand, type CognitoIdentityProviderClient, type UserType } from '@aws-sdk/client-cognito-identity-provider';
import { awsCall } from '../../../lib/aws.js';
import type { Mapping, PoolInfo } from './mapping.js';

export async function* poolUsers(client: CognitoIdentityProviderClient, poolId: string, signal?: AbortSignal): AsyncGenerator<UserType> {
  let token: string | undefined;
  do {
    if (signal?.aborted) throw signal.reason;
    const res = await awsCall('cognito-idp:ListUsers', () => client.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token, Limit: 60 })));
    for (const u of res.Users ?? []) yield u;
    token = res.PaginationToken;
  } while (token);
}

export async function* groupMembers(client: CognitoIdentityProviderClient, poolId: string, group: string, signal?: AbortSignal): AsyncGenerator<UserType> {
  let token: string | undefined;
  do {
    if (signal?.aborted) throw signal.reason;
    const res = await awsCall('cognito-idp:ListUsersInGroup', () => client.send(new ListUsersInGroupCommand({ UserPoolId: poolId, GroupName: group, NextToken: token, Limit: 60 })));
    for (const u of res.Users ?? []) yield u;
    token = res.NextToken;
  } while (token);
}

/** The source-side key of a pool user: its email in email-as-username pools (there Username is the sub). */
export function poolKey(u: UserType, mapping: Mapping, pool: PoolInfo): string | undefined {
  if (mapping.username.from === 'email') return u.Attributes?.find((a) => a.Name === 'email')?.Value?.toLowerCase();
  return pool.caseSensitive ? u.Username : u.Username?.toLowerCase();
}

export function attributeOf(u: UserType, name: string): string | undefined {
  return u.Attributes?.find((a) => a.Name === name)?.Value;
}
