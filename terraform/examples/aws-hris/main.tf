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

  # More options, each off by default (terraform/README.md, "The aws-bulk module"):
  # Buckets that already exist, instead of making them here (nothing is changed on them; set
  # manage_input_bucket_notification = false if the input bucket notifies anything else):
  # existing_input_bucket_name     = "corp-hr-exports"
  # existing_sanitized_bucket_name = "corp-hr-sanitized"
  #
  # A second output with other rules, written only under its path:
  # additional_transforms = [
  #   { destination_bucket_name = "corp-people-analytics", path_within_bucket = "hris/", rules_file = "${local.repo_root}/transforms/hris.yaml" },
  # ]
  #
  # The salt, key and rules in Secrets Manager instead of SSM Parameter Store:
  # secrets_store = "aws_secrets_manager"
  #
  # The functions in private subnets (with S3, Secrets Manager or SSM, SQS and KMS endpoints or
  # a NAT gateway):
  # vpc_config = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  #
  # Your own KMS key for the buckets, parameters, queue, logs and environment (its key policy
  # must let logs.<region>.amazonaws.com use it):
  # kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/..."
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
