# The `hris` connector: HR uploads an HRIS export (CSV, optionally gzipped) to the input bucket
# under `hris/`; the sanitized copy appears in the sanitized bucket under the same key, read by
# the analytics vendor through the reader role. See README.md for every step.

locals {
  # This directory sits at terraform/examples/aws-hris in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

module "hris" {
  source = "../../modules/aws-bulk"

  instance_id     = "hris"
  rules_file      = "${local.repo_root}/transforms/hris.yaml"
  lambda_zip_path = "${local.repo_root}/target/lambda/psoxy-bulk/bootstrap.zip"

  input_base_path = "hris/"
  salt            = var.salt

  reader_google_service_account_ids = var.vendor_service_account_ids
  reader_aws_principals             = var.vendor_aws_principals

  alarm_actions         = aws_sns_topic.alarms[*].arn
  force_destroy_buckets = var.force_destroy_buckets

  # Exports of 2 GiB or more: sanitize them in parallel 256 MiB ranges with a Step Functions
  # state machine (the module's "Fan-out of large objects" in terraform/README.md).
  # fanout_enabled = true
}

# Where the alarms go when an email is given.
resource "aws_sns_topic" "alarms" {
  count = var.alarm_email == null ? 0 : 1

  name              = "psoxy-hris-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
