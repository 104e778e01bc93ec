// See ec2-sdk.ts: only these SSM operations end up in the bundle.
export { DescribeInstanceInformationCommand, SSMClient, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm';
