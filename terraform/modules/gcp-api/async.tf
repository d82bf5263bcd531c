# Asynchronous requests (enable_async_processing), the Google Cloud way of modules/aws-api's: an
# accepted `Prefer: respond-async` request is written as a job object to the jobs bucket
# (ASYNC_API_REQUEST_QUEUE_URL); the object's finalized event is pushed by Eventarc, as in
# modules/gcp-bulk, to this same service's `/_psoxy/async`, which runs the job, writes the
# sanitized answer (gzip), or `<id>.error.json` naming the status and error code, to the async
# output bucket (ASYNC_OUTPUT_DESTINATION) under yyyyMMdd/<id>, and deletes the job. Both buckets
# have the guard rails of modules/gcp-bulk's. A job's event that fails every delivery attempt
# goes to a dead-letter topic, as gcp-bulk's events do, once attached (async_subscription_command):
# Eventarc would otherwise drop it after 24 hours of retries. Side outputs (side_output_sanitized)
# go to a bucket the customer names. None of this exists unless enabled (side outputs: unless
# given).

locals {
  async_enabled = var.enable_async_processing
  # The bucket of SIDE_OUTPUT_SANITIZED (`gs://bucket/prefix`).
  side_output_bucket = var.side_output_sanitized == null ? null : split("/", trimprefix(var.side_output_sanitized, "gs://"))[0]

  async_buckets = local.async_enabled ? {
    # Jobs are deleted once run; one that was never run is gone after a week. A job holds the
    # caller's request (path, query, body): a deleted one is gone at once (no soft delete).
    jobs = {
      name            = "${local.service_name}-async-jobs-${random_id.async_bucket_suffix[0].hex}"
      expiration_days = 7
      soft_delete     = false
    }
    # Answers are sanitized: Cloud Storage's default soft delete, as gcp-bulk's sanitized bucket.
    output = {
      name            = "${local.service_name}-async-output-${random_id.async_bucket_suffix[0].hex}"
      expiration_days = var.async_output_expiration_days
      soft_delete     = true
    }
  } : {}

  # Eventarc's push subscription of the jobs (it makes and manages it), and the settings Terraform
  # cannot make there: the dead-letter topic after max_delivery_attempts, and a push deadline as
  # long as a job may take (Pub/Sub's longest is 600 s), so that a job is not delivered again
  # while it still runs.
  async_subscription = local.async_enabled ? try(google_eventarc_trigger.async[0].transport[0].pubsub[0].subscription, null) : null
  async_subscription_command = local.async_enabled ? join(" ", [
    "gcloud pubsub subscriptions update ${coalesce(local.async_subscription, "<eventarc subscription>")}",
    "--dead-letter-topic=${google_pubsub_topic.async_dead_letter[0].id}",
    "--max-delivery-attempts=${var.max_delivery_attempts}",
    "--ack-deadline=${min(var.timeout_seconds, 600)}",
  ]) : null
}

resource "random_id" "async_bucket_suffix" {
  count = local.async_enabled ? 1 : 0

  byte_length = 4
}

resource "google_storage_bucket" "async" {
  #checkov:skip=CKV_GCP_62:Access logging needs a separate log bucket the customer chooses; Cloud Audit Logs (data access) record object reads and writes where enabled.
  #checkov:skip=CKV_GCP_78:Jobs are deleted once run and answers are written once under new ids: versions would only keep what is deleted or expired on purpose.
  for_each = local.async_buckets

  project       = var.project_id
  name          = each.value.name
  location      = var.region
  labels        = merge(local.labels, { "psoxy-bucket" = "async-${each.key}" })

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = false
  }

  # The jobs bucket keeps no soft-deleted copy of a job once it is run (or expired); the
  # output bucket keeps Cloud Storage's default.
  dynamic "soft_delete_policy" {
    for_each = each.value.soft_delete ? [] : [0]
    content {
      retention_duration_seconds = soft_delete_policy.value
    }
  }

  # Objects are deleted this many days after they were written (0: kept).
  dynamic "lifecycle_rule" {
    for_each = each.value.expiration_days > 0 ? [each.value.expiration_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }
}

# Each job finalized in the jobs bucket is a CloudEvent POSTed to the service's `/_psoxy/async`,
# with an ID token of the trigger's service account.
resource "google_eventarc_trigger" "async" {
  count = local.async_enabled ? 1 : 0

  project         = var.project_id
  name            = "${local.service_name}-async"
  location        = var.region
  service_account = google_service_account.trigger[0].email
  labels          = local.labels

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.storage.object.v1.finalized"
  }
  matching_criteria {
    attribute = "bucket"
    value     = google_storage_bucket.async["jobs"].name
  }

  destination {
    cloud_run_service {
      service = google_cloud_run_v2_service.api.name
      region  = var.region
      path    = "/_psoxy/async"
    }
  }

  # Eventarc checks these grants when it creates the trigger.
  depends_on = [
    google_project_iam_member.gcs_agent_publishes_events,
    google_project_iam_member.trigger_receives_events,
    google_cloud_run_v2_service_iam_member.trigger_invokes_service,
  ]
}

# Job events that fail every delivery attempt land here once the topic is attached to Eventarc's
# subscription (the output async_subscription_command): Eventarc manages that subscription, so
# Terraform cannot set its dead-letter policy. As modules/gcp-bulk's.
resource "google_pubsub_topic" "async_dead_letter" {
  #checkov:skip=CKV_GCP_83:A dead letter is Eventarc's event about a job object (bucket, random object name, size), never the request it holds; Google-managed encryption, as the jobs bucket's.
  count = local.async_enabled ? 1 : 0

  project                    = var.project_id
  name                       = "${local.service_name}-async-dead-letter"
  message_retention_duration = "604800s" # 7 days
  labels                     = local.labels
}

# A topic keeps nothing without a subscription: this one holds the dead letters for reading
# (`gcloud pubsub subscriptions pull`), 7 days, and never expires.
resource "google_pubsub_subscription" "async_dead_letter" {
  count = local.async_enabled ? 1 : 0

  project                    = var.project_id
  name                       = "${local.service_name}-async-dead-letter"
  topic                      = google_pubsub_topic.async_dead_letter[0].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}
