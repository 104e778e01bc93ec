// What ecs-ssh uses of the EC2 and SSM clients, as named exports: imported
// dynamically through this module, the bundle keeps just these operations.
export { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
