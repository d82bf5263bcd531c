# The `hris` connector on Google Cloud: HR uploads an HRIS export (CSV, optionally gzipped) to
# the input bucket under `hris/`; the sanitized copy appears in the sanitized bucket under the
# same name, read by the analytics vendor's service account. See README.md for every step.

locals {
  # This directory sits at terraform/examples/gcp-hris in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

# The APIs the module uses (left enabled on destroy: other deployments may use them).
resource "google_project_service" "this" {
  for_each = toset([
    "run.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "storage.googleapis.com",
    "secretmanager.googleapis.com",
    "iam.googleapis.com",
    "monitoring.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "hris" {
  source = "../../modules/gcp-bulk"

  project_id  = var.project_id
  region      = var.region
  instance_id = "hris"
  image       = var.image
  rules_file  = "${local.repo_root}/transforms/hris.yaml"

  input_base_path = "hris/"
  salt            = var.salt

  sanitized_bucket_readers = var.vendor_service_accounts
  notification_channels    = google_monitoring_notification_channel.email[*].id
  force_destroy_buckets    = var.force_destroy_buckets

  depends_on = [google_project_service.this]
}

# Where the alerts go when an email is given.
resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == null ? 0 : 1

  project      = var.project_id
  display_name = "psoxy-hris alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.this]
}
