# A webhook collector for in-house tools' activity events on Google Cloud: tools POST JSON events
# with a JWT that the customer's issuer signs with the Cloud KMS key made here; the collector
# sanitizes them by transforms/webhook/events.yaml and queues them; every minute the batch
# service merges what is queued into one gzipped NDJSON object in the output bucket, which the
# analytics vendor reads. See README.md.

locals {
  # This directory sits at terraform/examples/gcp-webhook-events in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

# The APIs the module uses (left enabled on destroy: other deployments may use them).
resource "google_project_service" "this" {
  for_each = toset([
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "iam.googleapis.com",
    "storage.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudscheduler.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "events" {
  source = "../../modules/gcp-webhook"

  project_id  = var.project_id
  region      = var.region
  instance_id = "events"
  image       = var.image
  rules_file  = "${local.repo_root}/transforms/webhook/events.yaml"

  auth_issuer           = var.auth_issuer
  issuer_members        = var.issuer_members
  salt                  = var.salt
  output_prefix         = "events"
  output_reader_members = var.output_reader_members
  notification_channels = google_monitoring_notification_channel.email[*].id

  depends_on = [google_project_service.this]
}

# Where the alerts go when an email is given.
resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == null ? 0 : 1

  project      = var.project_id
  display_name = "psoxy-events alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.this]
}
