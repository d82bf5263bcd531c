# Optional VPC placement (vpc_config; null: none of this exists). The collector function gets
# its network interfaces in the given subnets with the given security groups (its function URL
# still receives the webhooks), and its role the network grants of
# modules/aws-lambda-vpc-access (AWSLambdaVPCAccessExecutionRole's EC2 actions, create only in
# those subnets with those groups); the function depends on it.
# The subnets need a route to every AWS API the function calls: SQS, S3 (a gateway endpoint),
# SSM or Secrets Manager, KMS (the accepted keys' public halves, a customer key): interface
# endpoints, or a NAT gateway. (Lambda itself delivers the logs.)

locals {
  use_vpc = var.vpc_config != null
}

module "vpc_access" {
  source = "../aws-lambda-vpc-access"
  count  = local.use_vpc ? 1 : 0

  vpc_config = var.vpc_config
  role_names = { function = aws_iam_role.function.id }
  partition  = local.partition
  region     = local.region
  account_id = local.account_id
}

# The policy was this module's aws_iam_role_policy.vpc: an existing deployment keeps it.
moved {
  from = aws_iam_role_policy.vpc["function"]
  to   = module.vpc_access[0].aws_iam_role_policy.this["function"]
}
