# Optional VPC placement (vpc_config; null: none of this exists). The API function gets its
# network interfaces in the given subnets with the given security groups (its function URL
# still receives the requests). Lambda creates and deletes those interfaces as the function's
# role, so the role gets, in a policy of its own, no more than the EC2 actions of
# AWSLambdaVPCAccessExecutionRole:
#   CreateNetworkInterface  only in the given subnets, with the given security groups;
#   DeleteNetworkInterface, AssignPrivateIpAddresses, UnassignPrivateIpAddresses
#                           only on network interfaces of this account and region;
#   DescribeNetworkInterfaces, DescribeSubnets
#                           on `*` (AWS documents no resource-level permission for them).
# The subnets need a route to the source API (TARGET_HOST) and its token endpoint on the
# internet (a NAT gateway), and to every AWS API the function calls: SSM or Secrets Manager, SQS
# and S3 with asynchronous requests or side outputs, Cognito with workload identity federation,
# KMS with a customer key (interface endpoints, a gateway endpoint for S3, or the NAT gateway).
# (Lambda itself delivers the logs.)

locals {
  use_vpc = var.vpc_config != null
  # Subnets and security groups by id, in any account (a subnet shared with this account by
  # AWS RAM belongs to the VPC owner's account; ids are unique).
  vpc_subnet_arns         = [for id in try(var.vpc_config.subnet_ids, []) : "arn:${local.partition}:ec2:${local.region}:*:subnet/${id}"]
  vpc_security_group_arns = [for id in try(var.vpc_config.security_group_ids, []) : "arn:${local.partition}:ec2:${local.region}:*:security-group/${id}"]
  # The functions' interfaces are made in this account and region.
  vpc_network_interfaces = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"
}

data "aws_iam_policy_document" "vpc" {
  count = local.use_vpc ? 1 : 0

  statement {
    sid       = "CreateNetworkInterfacesInOwnSubnets"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = concat([local.vpc_network_interfaces], local.vpc_subnet_arns, local.vpc_security_group_arns)
  }

  statement {
    sid = "ManageNetworkInterfaces"
    actions = [
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = [local.vpc_network_interfaces]
  }

  statement {
    sid = "DescribeNetwork"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "vpc" {
  for_each = local.use_vpc ? { function = aws_iam_role.function.id } : {}

  name   = "vpc-network-interfaces"
  role   = each.value
  policy = data.aws_iam_policy_document.vpc[0].json
}
