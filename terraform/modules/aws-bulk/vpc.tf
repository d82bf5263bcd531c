# Optional VPC placement (vpc_config; null: none of this exists). Every function of the module
# (the bulk function and, with fanout_enabled, the chunk function) gets its network interfaces
# in the given subnets with the given security groups, and each function's role the network
# grants of modules/aws-lambda-vpc-access (AWSLambdaVPCAccessExecutionRole's EC2 actions, create
# only in those subnets with those groups); the functions depend on it.
# The subnets need a route to every AWS API the functions call: S3 (a gateway endpoint), SSM or
# Secrets Manager, SQS (the failure queue), Step Functions with the fan-out, KMS with a
# customer key: interface endpoints, or a NAT gateway. (Lambda itself delivers the logs.)

locals {
  use_vpc = var.vpc_config != null
}

module "vpc_access" {
  source = "../aws-lambda-vpc-access"
  count  = local.use_vpc ? 1 : 0

  vpc_config = var.vpc_config
  # Keys known at plan time; the chunk function's role only with the fan-out.
  role_names = merge(
    { function = aws_iam_role.function.id },
    var.fanout_enabled ? { chunk = aws_iam_role.chunk[0].id } : {},
  )
  partition  = local.partition
  region     = local.region
  account_id = local.account_id
}

# The policies were this module's aws_iam_role_policy.vpc: an existing deployment keeps them.
moved {
  from = aws_iam_role_policy.vpc["function"]
  to   = module.vpc_access[0].aws_iam_role_policy.this["function"]
}

moved {
  from = aws_iam_role_policy.vpc["chunk"]
  to   = module.vpc_access[0].aws_iam_role_policy.this["chunk"]
}
