# The bulk pipeline on Google Cloud: an object finalized in the input bucket is an Eventarc
# event, pushed through Pub/Sub to the Cloud Run service (`/psoxy-gcp bulk`), which writes the
# sanitized object to the sanitized bucket. Resources are split by concern:
#   buckets.tf    the two buckets and their guard rails
#   secrets.tf    salt and encryption key in Secret Manager
#   service.tf    the Cloud Run service, its Eventarc trigger and the dead-letter topic
#   iam.tf        the service accounts and every grant (bucket-, secret- and service-level;
#                 project-level only where Eventarc and Cloud Storage require it)
#   monitoring.tf alert policies

data "google_project" "this" {
  project_id = var.project_id
}

# The Cloud Storage service agent, which publishes the bucket's notifications to Eventarc's
# Pub/Sub topic.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

locals {
  service_name = "psoxy-${var.instance_id}"
  # Secret Manager ids are `<prefix><SETTING>`, the prefix being Psoxy's default instance
  # namespace: the service's name upper-cased, `-` as `_`, and `_` (psoxy-hris -> PSOXY_HRIS_).
  secret_prefix = "${upper(replace(local.service_name, "-", "_"))}_"
  # The Pub/Sub service agent, which forwards undeliverable events to the dead-letter topic.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  labels = merge({ "psoxy-instance" = var.instance_id }, var.labels)
}
