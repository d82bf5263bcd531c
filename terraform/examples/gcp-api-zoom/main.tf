# The `zoom` connector in API mode on Google Cloud, with Psoxy's settings: Zoom Server-to-Server
# OAuth (SOURCE_AUTH_STRATEGY_IDENTIFIER=oauth2_refresh_token, GRANT_TYPE=account_credentials).
# The analytics vendor calls the Cloud Run service with an ID token of one of its service
# accounts and a Zoom API path; the service gets an access token from zoom.us with the account id
# and client secret kept in Secret Manager (one token shared by all its instances,
# USE_SHARED_TOKEN), calls api.zoom.us and returns the response sanitized by
# transforms/api/zoom.yaml. See README.md for every step.

locals {
  # This directory sits at terraform/examples/gcp-api-zoom in the psoxy repository.
  repo_root = "${path.module}/../../.."
}

# The APIs the module uses (left enabled on destroy: other deployments may use them).
resource "google_project_service" "this" {
  for_each = toset([
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "iam.googleapis.com",
    "monitoring.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "zoom" {
  source = "../../modules/gcp-api"

  project_id  = var.project_id
  region      = var.region
  instance_id = "zoom"
  image       = var.image
  rules_file  = "${local.repo_root}/transforms/api/zoom.yaml"

  target_host = "api.zoom.us"
  # ACCOUNT_ID and CLIENT_SECRET: secrets in Secret Manager; CLIENT_ID: not secret, in the
  # environment.
  source_auth_strategy_identifier = "oauth2_refresh_token"
  grant_type                      = "account_credentials"
  refresh_endpoint                = "https://zoom.us/oauth/token"
  client_id                       = var.zoom_client_id
  # Psoxy's default for account_credentials, stated: the instances share one access token
  # (secret ACCESS_TOKEN), refreshed by one of them at a time under a lock (secret
  # OAUTH_REFRESH_TOKEN's label).
  use_shared_token = true
  salt             = var.salt

  caller_service_accounts = var.caller_service_accounts
  notification_channels   = google_monitoring_notification_channel.email[*].id

  depends_on = [google_project_service.this]
}

# Where the alerts go when an email is given.
resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == null ? 0 : 1

  project      = var.project_id
  display_name = "psoxy-zoom alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.this]
}
