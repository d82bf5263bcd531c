# A webhook collector for in-house tools' activity events: tools POST JSON events with a JWT
# that the customer's issuer signs with the KMS key made here; the collector sanitizes them by
# transforms/webhook/events.yaml and batches them into the sanitized bucket, which the analytics
# vendor reads. See README.md.

locals {
  # This directory sits at terraform/examples/aws-webhook-events in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

module "events" {
  source = "../../modules/aws-webhook"

  instance_id     = "events-webhooks"
  lambda_zip_path = "${local.repo_root}/target/lambda/psoxy-webhook/bootstrap.zip"
  rules_file      = "${local.repo_root}/transforms/webhook/events.yaml"

  auth_issuer                = var.auth_issuer
  auth_key_signer_role_names = var.signer_role_names
  salt                       = var.salt
  reader_principal_arns      = var.reader_principal_arns
}
