# The `zoom` connector in API mode, with Psoxy's settings: Zoom Server-to-Server OAuth
# (SOURCE_AUTH_STRATEGY_IDENTIFIER=oauth2_refresh_token, GRANT_TYPE=account_credentials). The
# analytics vendor calls the function URL (SigV4, service `lambda`) with a Zoom API path; the
# function gets an access token from zoom.us with the account id and client secret kept in SSM
# (one token shared by all its instances, USE_SHARED_TOKEN), calls api.zoom.us and returns the
# response sanitized by transforms/api/zoom.yaml. See README.md for every step.

locals {
  # This directory sits at terraform/examples/aws-api-zoom in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

module "zoom" {
  source = "../../modules/aws-api"

  instance_id     = "zoom"
  lambda_zip_path = "${local.repo_root}/target/lambda/psoxy-api/bootstrap.zip"
  rules_file      = "${local.repo_root}/transforms/api/zoom.yaml"

  target_host = "api.zoom.us"
  # ACCOUNT_ID and CLIENT_SECRET: secrets in SSM; CLIENT_ID: not secret, in the environment.
  source_auth_strategy_identifier = "oauth2_refresh_token"
  grant_type                      = "account_credentials"
  refresh_endpoint                = "https://zoom.us/oauth/token"
  client_id                       = var.zoom_client_id
  # Psoxy's default for account_credentials, stated: the instances share one access token
  # (SSM parameter ACCESS_TOKEN), refreshed by one of them at a time under a lock parameter.
  use_shared_token = true
  salt             = var.salt

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
}

# Where the alarms go when an email is given.
resource "aws_sns_topic" "alarms" {
  count = var.alarm_email == null ? 0 : 1

  name              = "psoxy-zoom-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
