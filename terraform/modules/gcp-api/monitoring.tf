# An alert policy, so that no failure goes unnoticed. The service's logs (never a secret, a
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
