variable "vpc_config" {
  description = "Where the functions' network interfaces go: `subnet_ids` and `security_group_ids` (the caller validates them; call the module only when the functions are placed in a VPC)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  nullable = false
}

variable "role_names" {
  description = "The functions' execution roles (name, i.e. the role's `id`) that get the policy, by keys known at plan time, e.g. `{ function = aws_iam_role.function.id }`."
  type        = map(string)
}

variable "partition" {
  description = "The AWS partition of the ARNs (`aws`, `aws-us-gov`, ...)."
  type        = string
}

variable "region" {
  description = "The functions' region: their network interfaces, subnets and security groups are in it."
  type        = string
}

variable "account_id" {
  description = "The functions' account: their network interfaces are made in it."
  type        = string
}
