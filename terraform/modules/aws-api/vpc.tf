# Optional VPC placement (vpc_config; null: none of this exists). The API function gets its
# network interfaces in the given subnets with the given security groups (its function URL
# still receives the requests), and its role the network grants of
# modules/aws-lambda-vpc-access (AWSLambdaVPCAccessExecutionRole's EC2 actions, create only in
# those subnets with those groups); the function depends on it.
# The subnets need a route to the source API (TARGET_HOST) and its token endpoint on the
# internet (a NAT gateway), and to every AWS API the function calls: SSM or Secrets Manager, SQS
# and S3 with asynchronous requests or side outputs, Cognito with workload identity federation,
# KMS with a customer key (interface endpoints, a gateway endpoint for S3, or the NAT gateway).
# (Lambda itself delivers the logs.)

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
