# The batches: a Cloud Scheduler job POSTs to the batch service's `/` on batch_schedule (every
# minute by default) with an OIDC token of the scheduler's own service account, whose audience
# is the service's URL; that account may invoke the batch service and nothing else. A tick that
# finds a batch still running gets 429 (one instance, one request) and the next tick takes the
# rest; a failed run is retried by the next tick, as the queued objects stay until batched.
# A run merges for up to 50 s before it answers: the attempt deadline (batch_timeout_seconds,
# also the service's request timeout) is at least 60 s.

resource "google_cloud_scheduler_job" "batch" {
  project          = var.project_id
  region           = coalesce(var.scheduler_region, var.region)
  name             = local.batch_service_name
  description      = "Merges the queued webhooks of ${local.service_name} into a batch in ${local.batch_url}."
  schedule         = var.batch_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.batch_timeout_seconds}s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloud_run_v2_service.batch.uri}/"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloud_run_v2_service.batch.uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invokes_batch]
}
