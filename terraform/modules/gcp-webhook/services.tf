# The two Cloud Run services. The collector's URL is public (webhooks come from tools outside
# Google Cloud that cannot mint Google ID tokens): anyone may invoke it, and every request must
# instead carry a bearer JWT signed by an accepted key, which the service verifies before it
# reads the payload (401 otherwise). The batch service takes internal traffic only (Cloud
# Scheduler in the same project is internal) and only the scheduler's account may invoke it.

locals {
  rules_text = var.rules_file != null ? file(var.rules_file) : coalesce(var.rules, " ")
  # Rules travel in the environment: as written up to 16 KB, else as base64 of gzip (which the
  # rules loader unwraps). (UTF-8 bytes, from the base64 length: length() counts characters.)
  rules_bytes = length(base64encode(local.rules_text)) / 4 * 3
  rules_value = local.rules_bytes <= 16384 ? local.rules_text : base64gzip(local.rules_text)

  # The collector's plain environment. Settings are read once per instance; a change here is a
  # new revision.
  collector_environment = merge(
    {
      GOOGLE_CLOUD_PROJECT    = var.project_id
      PATH_TO_INSTANCE_CONFIG = local.secret_prefix
      PSOXY_INSTANCE_ID       = var.instance_id
      RULES                   = local.rules_value
      RUST_LOG                = var.log_level
      ACCEPTED_AUTH_KEYS      = join(",", local.accepted_auth_keys)
      WEBHOOK_OUTPUT          = local.queue_url
    },
    # Only the optional settings that are set (their defaults are the binary's).
    { for name, value in {
      PATH_TO_SHARED_CONFIG         = var.shared_secret_prefix
      AUTH_ISSUER                   = var.auth_issuer
      AUTH_AUDIENCE                 = var.auth_audience
      ALLOW_ORIGINS                 = join(",", var.allow_origins)
      ALLOWED_DATA_ACCESS_IP_BLOCKS = join(",", var.allowed_ip_blocks)
    } : name => value if value != null && value != "" },
    var.extra_environment,
  )

  # The batch service's: where to take the queued webhooks from, and where to write batches
  # (it reads nothing else).
  batch_environment = {
    RUST_LOG             = var.log_level
    WEBHOOK_OUTPUT       = local.queue_url
    WEBHOOK_BATCH_OUTPUT = local.batch_url
  }
}

resource "google_cloud_run_v2_service" "collector" {
  project  = var.project_id
  name     = local.service_name
  location = var.region
  labels   = local.labels

  description = "psoxy webhook collector ${var.instance_id}: verifies and sanitizes webhooks, queues them in gs://${google_storage_bucket.this["queue"].name}"
  ingress     = "INGRESS_TRAFFIC_ALL"
  # The service holds no data: destroying it loses nothing.
  deletion_protection = false

  template {
    service_account                  = google_service_account.collector.email
    timeout                          = "${var.timeout_seconds}s"
    max_instance_request_concurrency = var.concurrency
    labels                           = local.labels

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image
      args  = ["webhook"]

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.collector_environment
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

      # The port opens once the settings are read.
      startup_probe {
        tcp_socket {}
        period_seconds    = 2
        failure_threshold = 30
      }
    }
  }

  lifecycle {
    precondition {
      condition     = (var.rules_file == null) != (var.rules == null)
      error_message = "Give exactly one of rules_file and rules."
    }
    precondition {
      condition     = var.create_signing_key || length(var.accepted_auth_keys) > 0
      error_message = "No key to verify tokens with: keep create_signing_key or give accepted_auth_keys."
    }
    precondition {
      condition     = length(local.rules_value) <= 32768
      error_message = "The rules are over 32 KB even gzipped, more than a Cloud Run environment variable holds."
    }
  }

  depends_on = [
    google_secret_manager_secret_version.this,
    google_secret_manager_secret_iam_member.collector,
  ]
}

resource "google_cloud_run_v2_service" "batch" {
  project  = var.project_id
  name     = local.batch_service_name
  location = var.region
  labels   = local.labels

  description = "psoxy webhook batches ${var.instance_id}: gs://${google_storage_bucket.this["queue"].name}/${local.queue_prefix} -> ${local.batch_url}"
  # Only Cloud Scheduler (and other sources inside the project) can reach it; the caller must
  # still hold run.invoker, which only the scheduler's service account has.
  ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  # The service holds no data: destroying it loses nothing.
  deletion_protection = false

  template {
    service_account = google_service_account.batch.email
    timeout         = "${var.batch_timeout_seconds}s"
    # One batch at a time, in one instance: concurrent batches would race for the same queued
    # objects.
    max_instance_request_concurrency = 1
    labels                           = local.labels

    scaling {
      min_instance_count = 0
      max_instance_count = 1
    }

    containers {
      image = var.image
      args  = ["webhook-batch"]

      resources {
        limits = {
          cpu    = var.batch_cpu
          memory = var.batch_memory
        }
      }

      dynamic "env" {
        for_each = local.batch_environment
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        tcp_socket {}
        period_seconds    = 2
        failure_threshold = 30
      }
    }
  }
}
