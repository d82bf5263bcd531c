# Asynchronous requests (enable_async_processing), the Google Cloud way of modules/aws-api's: an
# accepted `Prefer: respond-async` request is written as a job object to the jobs bucket
# (ASYNC_API_REQUEST_QUEUE_URL); the object's finalized event is pushed by Eventarc, as in
# modules/gcp-bulk, to this same service's `/_psoxy/async`, which runs the job, writes the
# sanitized answer (gzip), or `<id>.error.json` naming the status and error code, to the async
# output bucket (ASYNC_OUTPUT_DESTINATION) under yyyyMMdd/<id>, and deletes the job. Both buckets
# have the guard rails of modules/gcp-bulk's. Side outputs (side_output_sanitized) go to a bucket
# the customer names. None of this exists unless enabled (side outputs: unless given).

locals {
  async_enabled = var.enable_async_processing
  # The bucket of SIDE_OUTPUT_SANITIZED (`gs://bucket/prefix`).
  side_output_bucket = var.side_output_sanitized == null ? null : split("/", trimprefix(var.side_output_sanitized, "gs://"))[0]

  async_buckets = local.async_enabled ? {
    # Jobs are deleted once run; one that was never run is gone after a week.
    jobs = {
      name            = "${local.service_name}-async-jobs-${random_id.async_bucket_suffix[0].hex}"
      expiration_days = 7
    }
    output = {
      name            = "${local.service_name}-async-output-${random_id.async_bucket_suffix[0].hex}"
      expiration_days = var.async_output_expiration_days
    }
  } : {}

  # Eventarc's push subscription of the jobs (it makes and manages it), and the setting Terraform
  # cannot make there: a push deadline as long as a job may take (Pub/Sub's longest is 600 s),
  # so that a job is not delivered again while it still runs.
  async_subscription = local.async_enabled ? try(google_eventarc_trigger.async[0].transport[0].pubsub[0].subscription, null) : null
  async_subscription_command = local.async_enabled ? join(" ", [
    "gcloud pubsub subscriptions update ${coalesce(local.async_subscription, "<eventarc subscription>")}",
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
