# The `github` connector in API mode: the analytics vendor calls the function URL (SigV4,
# service `lambda`) with a GitHub REST API path; the function calls api.github.com with the
# token from SSM and returns the response sanitized by transforms/api/github.yaml. See
# README.md for every step.

locals {
  # This directory sits at terraform/examples/aws-api-github in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

module "github" {
  source = "../../modules/aws-api"

  instance_id     = "github"
  lambda_zip_path = "${local.repo_root}/target/lambda/psoxy-api/bootstrap.zip"
  rules_file      = "${local.repo_root}/transforms/api/github.yaml"

  target_host          = var.github_api_host
  source_auth_strategy = "bearer" # ACCESS_TOKEN: a fine-grained personal access token, read-only
  salt                 = var.salt

  caller_principal_arns = var.caller_principal_arns

  caller_trust_principal = (
    length(var.caller_aws_principals) + length(var.caller_google_service_account_ids) > 0
    ? {
      aws_principal_arns         = var.caller_aws_principals
      external_id                = var.caller_external_id
      google_service_account_ids = var.caller_google_service_account_ids
    }
    : null
  )

  alarm_actions = aws_sns_topic.alarms[*].arn

  # More options, each off by default (terraform/README.md, "The aws-api module"):
  # The salt and the token in Secrets Manager instead of SSM Parameter Store (then fill the token
  # with `aws secretsmanager put-secret-value --secret-id /psoxy/github/ACCESS_TOKEN ...`):
  # secrets_store = "aws_secrets_manager"
  #
  # The function in private subnets, with a NAT gateway to reach api.github.com:
  # vpc_config = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
}

# Where the alarms go when an email is given.
resource "aws_sns_topic" "alarms" {
  count = var.alarm_email == null ? 0 : 1

  name              = "psoxy-github-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
