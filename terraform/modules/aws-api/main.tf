# API mode on AWS: the `psoxy-api` function behind a Lambda function URL with IAM auth. A caller
# (the analytics vendor's AWS role, or the caller role made here) signs each request (SigV4,
# service `lambda`); the function adds the source's credentials, calls TARGET_HOST and returns
# the response sanitized by the rules. Resources are split by concern:
#   secrets.tf    salt, encryption key, source credentials (and large rules) as SSM parameters
#   function.tf   the Lambda function, its URL and who may invoke it
#   iam.tf        the function's execution role (least privilege)
#   caller.tf     the optional caller role
#   monitoring.tf log group and alarms

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  function_name = "psoxy-${var.instance_id}"
  param_prefix  = "/${var.path_prefix}${var.instance_id}/"
  # IAM resource of a parameter under the prefix (a name starting with `/` follows `parameter`
  # directly in the ARN).
  param_arn_prefix = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.param_prefix}"

  use_kms = var.kms_key_arn != null

  # The secret settings each auth strategy reads from SSM (the salt and the encryption key are
  # parameters whatever the strategy). Keep the keys in step with the validation of
  # var.source_auth_strategy.
  secret_settings_by_strategy = {
    none                      = []
    bearer                    = ["ACCESS_TOKEN"]
    header                    = ["ACCESS_TOKEN"]
    basic                     = ["BASIC_AUTH_PASSWORD"]
    oauth2_client_credentials = ["CLIENT_SECRET"]
    oauth2_refresh_token      = ["CLIENT_SECRET", "REFRESH_TOKEN"]
    google_service_account    = ["SERVICE_ACCOUNT_KEY"]
    ms_workload_identity      = []
  }
  source_secret_settings = toset(local.secret_settings_by_strategy[var.source_auth_strategy])

  # The non-secret settings each strategy cannot do without (given in var.source_settings).
  required_settings_by_strategy = {
    none                      = []
    bearer                    = []
    header                    = ["API_KEY_HEADER"]
    basic                     = ["BASIC_AUTH_USER"]
    oauth2_client_credentials = ["TOKEN_ENDPOINT", "CLIENT_ID"]
    oauth2_refresh_token      = ["TOKEN_ENDPOINT", "CLIENT_ID"]
    google_service_account    = []
    ms_workload_identity      = ["CLIENT_ID", "MS_TENANT_ID", "MS_FEDERATED_TOKEN_FILE"]
  }
  missing_source_settings = [
    for name in local.required_settings_by_strategy[var.source_auth_strategy] : name
    if trimspace(lookup(var.source_settings, name, "")) == ""
  ]

  # A rotated refresh token is written back by the function: the only write it may do.
  writes_refresh_token = var.source_auth_strategy == "oauth2_refresh_token"

  tags = merge({ "psoxy-instance" = var.instance_id }, var.tags)
}
