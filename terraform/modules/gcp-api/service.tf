# The Cloud Run service (`/psoxy-gcp api`). Its URL is reachable from anywhere (the vendor calls
# from outside Google Cloud), but only with an ID token of a caller in
# var.caller_service_accounts (or, with enable_async_processing, of the jobs' Eventarc trigger):
# there is no public invoker.

locals {
  rules_text = var.rules_file != null ? file(var.rules_file) : coalesce(var.rules, " ")
  # Rules travel in the environment: as written up to 16 KB, else as base64 of gzip (which the
  # rules loader unwraps). (UTF-8 bytes, from the base64 length: length() counts characters.)
  rules_bytes = length(base64encode(local.rules_text)) / 4 * 3
  rules_value = local.rules_bytes <= 16384 ? local.rules_text : base64gzip(local.rules_text)

  environment = merge(
    {
      GOOGLE_CLOUD_PROJECT    = var.project_id
      PATH_TO_INSTANCE_CONFIG = local.secret_prefix
      PSOXY_INSTANCE_ID       = var.instance_id
      TARGET_HOST             = var.target_host
      RULES                   = local.rules_value
      RUST_LOG                = var.log_level
    },
    # The source's authentication, by our names or Psoxy's, and the optional settings that are
    # set (their defaults are the binary's).
    { for name, value in {
      PATH_TO_SHARED_CONFIG           = var.shared_secret_prefix
      SOURCE_AUTH_STRATEGY            = var.source_auth_strategy
      SOURCE_AUTH_STRATEGY_IDENTIFIER = var.source_auth_strategy_identifier
      GRANT_TYPE                      = var.grant_type
      TOKEN_RESPONSE_TYPE             = var.token_response_type
      REFRESH_ENDPOINT                = local.refresh_endpoint
      CLIENT_ID                       = var.client_id
      CREDENTIALS_FLOW                = var.credentials_flow
      TOKEN_SCOPE                     = local.token_scope
      OAUTH_SCOPES                    = var.oauth_scopes
      AUDIENCE                        = local.audience
      # Explicit whenever Psoxy's grant is used (its default depends on the grant), or given.
      USE_SHARED_TOKEN         = local.uses_grant || var.use_shared_token != null ? tostring(local.use_shared_token) : null
      UPSTREAM_TIMEOUT_SECONDS = var.upstream_timeout_seconds == null ? null : tostring(var.upstream_timeout_seconds)
    } : name => value if value != null && value != "" },
    # Asynchronous requests and side outputs (async.tf).
    local.async_enabled ? {
      ASYNC_OUTPUT_DESTINATION    = "gs://${google_storage_bucket.async["output"].name}/"
      ASYNC_API_REQUEST_QUEUE_URL = "gs://${google_storage_bucket.async["jobs"].name}/jobs/"
    } : {},
    var.side_output_sanitized == null ? {} : { SIDE_OUTPUT_SANITIZED = var.side_output_sanitized },
    var.source_settings,
    var.extra_environment,
  )
}

resource "google_cloud_run_v2_service" "api" {
  project  = var.project_id
  name     = local.service_name
  location = var.region
  labels   = local.labels

  description = "psoxy API proxy for ${var.instance_id}: ${var.target_host} (${local.strategy_label})"
  ingress     = "INGRESS_TRAFFIC_ALL"
  # The service holds no data: destroying it loses nothing.
  deletion_protection = false

  template {
    service_account                  = google_service_account.service.email
    timeout                          = "${var.timeout_seconds}s"
    max_instance_request_concurrency = var.concurrency
    labels                           = local.labels

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image
      args  = ["api"]

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.environment
        content {
          name  = env.key
          value = env.value
        }
      }

      # Secrets: resolved from Secret Manager when an instance starts. The secrets the service
      # rewrites are not here: it reads them by name (PATH_TO_INSTANCE_CONFIG) when it needs them.
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

      # The port opens once the settings are read. Not an HTTP probe: the proxy's health
      # check is the X-Psoxy-Health-Check header, and it answers 412 until the source's
      # credentials are filled in, which must not keep the first revision from starting.
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
      condition     = (var.source_auth_strategy == null) != (var.source_auth_strategy_identifier == null)
      error_message = "Give exactly one of source_auth_strategy (our names, with source_settings) and source_auth_strategy_identifier (Psoxy's names, with grant_type, client_id, refresh_endpoint...)."
    }
    precondition {
      condition     = length(local.missing_source_settings) == 0
      error_message = "source_auth_strategy ${local.strategy_label} needs source_settings ${join(", ", local.missing_source_settings)}."
    }
    precondition {
      condition     = length(local.auth_problems) == 0
      error_message = "Source authentication ${local.strategy_label}: ${join("; ", local.auth_problems)}."
    }
    precondition {
      condition     = length(local.rules_value) <= 32768
      error_message = "The rules are over 32 KB even gzipped, more than a Cloud Run environment variable holds."
    }
  }

  depends_on = [
    google_secret_manager_secret_version.pseudonym,
    google_secret_manager_secret_version.placeholder,
    google_secret_manager_secret_iam_member.service_reads,
  ]
}
