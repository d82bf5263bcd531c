# Alert policies, so that no failure goes unnoticed. The services' logs (never a token, a
# secret or a payload value) are in Cloud Logging under the Cloud Run revisions.

locals {
  alerts = {
    # The collector answered with a server error (the queue could not be written, settings): the
    # sender got the error and should retry. A refused token is a 4xx, not alerted.
    errors = {
      service     = google_cloud_run_v2_service.collector.name
      description = "The psoxy webhook collector ${local.service_name} answered webhooks with a server error; the senders got it. Its log has the cause (never a value)."
    }
    # A batch failed (the queue could not be read, the output not written): the queued webhooks
    # stay, and the next scheduled run takes them again.
    batch-errors = {
      service     = google_cloud_run_v2_service.batch.name
      description = "A batch of ${local.batch_service_name} failed; the queued webhooks in gs://${google_storage_bucket.this["queue"].name}/${local.queue_prefix} stay until a run succeeds (they are deleted after ${var.queue_retention_days} days). Its log has the cause."
    }
  }
}

# Each alert fires on any 5xx answer in 5 minutes.
resource "google_monitoring_alert_policy" "this" {
  for_each = local.alerts

  project               = var.project_id
  display_name          = "${local.service_name}-${each.key}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  documentation {
    content   = each.value.description
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "${local.service_name}-${each.key}"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${each.value.service}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
}
