# The Cloud Run service (`/psoxy-gcp bulk`), the Eventarc trigger that pushes it each object
# finalized in the input bucket, and the dead-letter topic for events that fail every retry.

locals {
  rules_text = file(var.rules_file)
  # Rules travel in the environment: as written up to 16 KB, else as base64 of gzip (which the
  # rules loader unwraps). (UTF-8 bytes, from the base64 length: length() counts characters.)
  rules_bytes = length(base64encode(local.rules_text)) / 4 * 3
  rules_value = local.rules_bytes <= 16384 ? local.rules_text : base64gzip(local.rules_text)

  # One event gets at most this long: Pub/Sub's push deadline is 10 minutes, so a longer
  # request would be redelivered while it still runs. Larger objects: see the README.
  request_timeout_seconds = 600

  # The service's plain environment. Settings are read once per instance; a change here is a
  # new revision, so a rules change takes effect on the next event.
  environment = merge(
    {
      GOOGLE_CLOUD_PROJECT    = var.project_id
      PATH_TO_INSTANCE_CONFIG = local.secret_prefix
      PSOXY_INSTANCE_ID       = var.instance_id
      OUTPUT_BUCKET           = google_storage_bucket.this["sanitized"].name
      COMPRESS_OUTPUT_ALWAYS  = tostring(var.compress_output)
      RULES                   = local.rules_value
      RUST_LOG                = var.log_level
    },
    # Only the optional settings that are set (their defaults are the binary's).
    { for name, value in {
      PATH_TO_SHARED_CONFIG = var.shared_secret_prefix
      INPUT_BASE_PATH       = var.input_base_path
      OUTPUT_BASE_PATH      = var.output_base_path
      BULK_OUTPUT_FORMAT    = var.bulk_output_format
      ADDITIONAL_TRANSFORMS = var.additional_transforms
    } : name => value if value != null && value != "" },
    var.extra_environment,
  )
}

resource "google_cloud_run_v2_service" "bulk" {
  project  = var.project_id
  name     = local.service_name
  location = var.region
  labels   = local.labels

  description = "psoxy bulk sanitizer for ${var.instance_id}: gs://${google_storage_bucket.this["input"].name} -> gs://${google_storage_bucket.this["sanitized"].name}"
  # Only Eventarc (and other sources inside the project) can reach it; the caller must still
  # hold run.invoker, which only the trigger's service account has.
  ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  # The service holds no data: destroying it loses nothing.
  deletion_protection = false

  template {
    service_account                  = google_service_account.service.email
    timeout                          = "${local.request_timeout_seconds}s"
    max_instance_request_concurrency = var.concurrency
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    labels                           = local.labels

    scaling {
      min_instance_count = 0
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image
      args  = ["bulk"]

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
      }

      dynamic "env" {
        for_each = local.environment
        content {
          name  = env.key
          value = env.value
        }
      }

      # Secrets: resolved from Secret Manager when an instance starts.
      dynamic "env" {
        for_each = local.secret_environment
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      startup_probe {
        http_get {
          path = "/health"
        }
        period_seconds    = 2
        failure_threshold = 30
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.rules_value) <= 32768
      error_message = "The rules are over 32 KB even gzipped, more than a Cloud Run environment variable holds."
    }
  }

  depends_on = [
    google_secret_manager_secret_version.this,
    google_secret_manager_secret_iam_member.service,
  ]
}

# Each object finalized in the input bucket is a CloudEvent POSTed to the service's `/`, with an
# ID token of the trigger's service account. Eventarc makes the Pub/Sub topic and push
# subscription it travels through (output eventarc_subscription).
resource "google_eventarc_trigger" "input" {
  project         = var.project_id
  name            = "${local.service_name}-input"
  location        = var.region
  service_account = google_service_account.trigger.email
  labels          = local.labels

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.storage.object.v1.finalized"
  }
  matching_criteria {
    attribute = "bucket"
    value     = google_storage_bucket.this["input"].name
  }

  destination {
    cloud_run_service {
      service = google_cloud_run_v2_service.bulk.name
      region  = var.region
      path    = "/"
    }
  }

  # Eventarc checks these grants when it creates the trigger.
  depends_on = [
    google_project_iam_member.gcs_agent_publishes_events,
    google_project_iam_member.trigger_receives_events,
    google_cloud_run_v2_service_iam_member.trigger_invokes_service,
  ]
}

# Events that fail every delivery attempt land here once the topic is attached to Eventarc's
# subscription (the README's command, or the output dead_letter_command): Eventarc manages that
# subscription, so Terraform cannot set its dead-letter policy.
resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = "${local.service_name}-dead-letter"
  kms_key_name               = var.kms_key_name
  message_retention_duration = "604800s" # 7 days
  labels                     = local.labels

  depends_on = [google_kms_crypto_key_iam_member.agents_use_key]
}

# A topic keeps nothing without a subscription: this one holds the dead letters for reading
# (`gcloud pubsub subscriptions pull`), 7 days, and never expires.
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${local.service_name}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

locals {
  eventarc_subscription = try(google_eventarc_trigger.input.transport[0].pubsub[0].subscription, null)
  # The policy Terraform cannot set on Eventarc's subscription: the dead-letter topic after 5
  # attempts, and a push deadline as long as the request timeout.
  dead_letter_command = join(" ", [
    "gcloud pubsub subscriptions update ${coalesce(local.eventarc_subscription, "<eventarc subscription>")}",
    "--dead-letter-topic=${google_pubsub_topic.dead_letter.id}",
    "--max-delivery-attempts=${var.max_delivery_attempts}",
    "--ack-deadline=${local.request_timeout_seconds}",
  ])
}
