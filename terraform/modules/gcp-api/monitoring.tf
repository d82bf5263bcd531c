# Alert policies, so that no failure goes unnoticed. The service's logs (never a secret, a
# token or a response value) are in Cloud Logging under the Cloud Run revision of the service.

# Fires on any 5xx answer in 5 minutes: a request the service could not serve (settings,
# credentials, rules, the source), answered with its error to the caller.
resource "google_monitoring_alert_policy" "errors" {
  project               = var.project_id
  display_name          = "${local.service_name}-errors"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  documentation {
    content   = "The psoxy API service ${local.service_name} answered requests with a server error; its log has the cause (never a value)."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "${local.service_name}-errors"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.service_name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
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

# With enable_async_processing: a job's event that failed every delivery attempt (once the
# dead-letter topic is attached): the job was not run, and no answer will appear. As gcp-bulk's.
resource "google_monitoring_alert_policy" "async_dead_letters" {
  count = local.async_enabled ? 1 : 0

  project               = var.project_id
  display_name          = "${local.service_name}-async-dead-letters"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  documentation {
    content   = "An asynchronous job of ${local.service_name} was not run after every delivery attempt: no answer will appear for it. Its event is in the subscription ${google_pubsub_subscription.async_dead_letter[0].name}, its job object in gs://${google_storage_bucket.async["jobs"].name} (until the 7-day lifecycle)."
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "${local.service_name}-async-dead-letters"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.async_dead_letter[0].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}
