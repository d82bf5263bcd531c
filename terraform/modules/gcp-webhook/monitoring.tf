# Alert policies, so that no failure goes unnoticed. The services' logs (never a token, a
# secret or a payload value) are in Cloud Logging under the Cloud Run revisions.

locals {
  # The batch service's warning when a call (BATCH_BUDGET, 50 s) could not empty the queue: a
  # full pass was still waiting when it answered.
  backlog_message = "more webhooks are waiting than one call could merge: a backlog"

  # Each fires on any value above 0 in its period.
  alerts = {
    # The collector answered with a server error (the queue could not be written, settings): the
    # sender got the error and should retry. A refused token is a 4xx, not alerted.
    errors = {
      description = "The psoxy webhook collector ${local.service_name} answered webhooks with a server error; the senders got it. Its log has the cause (never a value)."
      filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.collector.name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      period      = "300s"
    }
    # A batch failed (the queue could not be read, the output not written): the queued webhooks
    # stay, and the next scheduled run takes them again.
    batch-errors = {
      description = "A batch of ${local.batch_service_name} failed; the queued webhooks in gs://${google_storage_bucket.this["queue"].name}/${local.queue_prefix} stay until a run succeeds (they are deleted after ${var.queue_retention_days} days). Its log has the cause."
      filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.batch.name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      period      = "300s"
    }
    # Webhooks arrive faster than the batch service merges them: each call works its 50 s and
    # still leaves a full pass queued. Left alone, the oldest reach queue_retention_days and are
    # deleted unbatched.
    batch-backlog = {
      description = "${local.batch_service_name} could not merge everything queued in gs://${google_storage_bucket.this["queue"].name}/${local.queue_prefix} within a call (log: \"${local.backlog_message}\"). Give it more batch_cpu or batch_memory, or run it more often (batch_schedule); queued webhooks older than ${var.queue_retention_days} days are deleted unbatched."
      filter      = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.batch_backlog.name}\""
      period      = "900s"
    }
  }
}

# Counts the batch service's backlog warnings (log-based metric).
resource "google_logging_metric" "batch_backlog" {
  project     = var.project_id
  name        = "${local.batch_service_name}-backlog"
  description = "Calls of ${local.batch_service_name} that left a full pass of webhooks queued (a backlog)."
  filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.batch.name}\" AND severity = \"WARNING\" AND jsonPayload.message = \"${local.backlog_message}\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

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
      filter          = each.value.filter
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = each.value.period
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
}
