# Alert policies, so that no failure goes unnoticed. The service's logs (one JSON line per
# event; an error names the object, row and column, never a value) are in Cloud Logging under
# the Cloud Run revision of the service.

locals {
  alerts = {
    # A 5xx answer: storage trouble (or a crash); Pub/Sub retries the event.
    errors = {
      description = "The psoxy bulk service ${local.service_name} answered an event with a server error; Pub/Sub retries it. Its log names the object and the cause."
      filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.service_name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      aligner     = "ALIGN_SUM"
    }
    # An event that failed every attempt (once the dead-letter topic is attached): the object was
    # not sanitized and needs attention.
    dead-letters = {
      description = "An upload to gs://${google_storage_bucket.this["input"].name} was not sanitized after every attempt; the event is in the subscription ${google_pubsub_subscription.dead_letter.name}."
      filter      = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      aligner     = "ALIGN_MAX"
    }
  }
}

# Each alert fires on any value above 0 in 5 minutes.
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
        alignment_period   = "300s"
        per_series_aligner = each.value.aligner
      }
    }
  }
}
