# The network grants of Lambda functions placed in a VPC. Lambda creates and deletes a
# function's network interfaces as the function's role, so each given role gets, in a policy of
# its own (`vpc-network-interfaces`), no more than the EC2 actions of
# AWSLambdaVPCAccessExecutionRole:
#   CreateNetworkInterface  only in the given subnets, with the given security groups;
#   DeleteNetworkInterface, AssignPrivateIpAddresses, UnassignPrivateIpAddresses
#                           only on network interfaces of this account and region;
#   DescribeNetworkInterfaces, DescribeSubnets
#                           on `*` (AWS documents no resource-level permission for them).
# Used by aws-bulk, aws-api and aws-webhook (vpc.tf), each calling it only with vpc_config; the
# functions depend on this module, so none is made before its role may create the interfaces.

locals {
  # Subnets and security groups by id, in any account (a subnet shared with this account by
  # AWS RAM belongs to the VPC owner's account; ids are unique).
  subnet_arns         = [for id in var.vpc_config.subnet_ids : "arn:${var.partition}:ec2:${var.region}:*:subnet/${id}"]
  security_group_arns = [for id in var.vpc_config.security_group_ids : "arn:${var.partition}:ec2:${var.region}:*:security-group/${id}"]
  # The functions' interfaces are made in this account and region.
  network_interfaces = "arn:${var.partition}:ec2:${var.region}:${var.account_id}:network-interface/*"
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "CreateNetworkInterfacesInOwnSubnets"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = concat([local.network_interfaces], local.subnet_arns, local.security_group_arns)
  }

  statement {
    sid = "ManageNetworkInterfaces"
    actions = [
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = [local.network_interfaces]
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

resource "aws_iam_role_policy" "this" {
  for_each = var.role_names

  name   = "vpc-network-interfaces"
  role   = each.value
  policy = data.aws_iam_policy_document.this.json
}
