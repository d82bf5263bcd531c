# The service's account may read its own secrets; and only when the strategy needs it: add
# versions to (and destroy the older versions of) the secrets it rewrites, and update the label
# of the shared token's lock, each on that secret alone. Callers may invoke this service, nothing
# else. Nothing is granted at the project level, but with enable_async_processing what Eventarc
# requires there (below).

resource "google_service_account" "service" {
  project      = var.project_id
  account_id   = local.service_name
  display_name = "psoxy ${var.instance_id} API service"
  description  = "Runs the psoxy API service ${local.service_name} (${var.target_host}, ${local.strategy_label})."
}

locals {
  # Every secret the service reads: those bound into its environment, and those it reads by name
  # at run time (the ones it rewrites).
  readable_secrets = merge(
    local.secret_environment,
    { for name in local.written_secret_settings : name => google_secret_manager_secret.this[name].secret_id },
  )
}

resource "google_secret_manager_secret_iam_member" "service_reads" {
  for_each = local.readable_secrets

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.service.member
}

# A rotated refresh token and the shared access token are written as new versions; the older
# versions of the shared token are listed and destroyed, and its `latest-version` label set.
resource "google_project_iam_custom_role" "token_writer" {
  count = length(local.written_secret_settings) > 0 ? 1 : 0

  project     = var.project_id
  role_id     = "psoxy_${replace(var.instance_id, "-", "_")}_token_writer"
  title       = "psoxy ${var.instance_id} token writer"
  description = "Add, list and destroy versions of a secret and update its labels: bound only on the secrets ${local.service_name} rewrites."
  permissions = [
    "secretmanager.secrets.get",
    "secretmanager.secrets.update",
    "secretmanager.versions.add",
    "secretmanager.versions.destroy",
    "secretmanager.versions.list",
  ]
}

resource "google_secret_manager_secret_iam_member" "service_writes_tokens" {
  for_each = local.written_secret_settings

  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.key].secret_id
  role      = google_project_iam_custom_role.token_writer[0].name
  member    = google_service_account.service.member
}

# The shared token's lock: the label `locked=<epoch ms>` of its own secret, read and updated
# under an etag guard.
resource "google_project_iam_custom_role" "lock_holder" {
  count = local.use_shared_token ? 1 : 0

  project     = var.project_id
  role_id     = "psoxy_${replace(var.instance_id, "-", "_")}_lock_holder"
  title       = "psoxy ${var.instance_id} lock holder"
  description = "Read and update a secret's labels: bound only on the shared-token lock of ${local.service_name}."
  permissions = [
    "secretmanager.secrets.get",
    "secretmanager.secrets.update",
  ]
}

resource "google_secret_manager_secret_iam_member" "service_holds_lock" {
  for_each = local.use_shared_token ? toset([local.shared_token_lock]) : toset([])

  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.key].secret_id
  role      = google_project_iam_custom_role.lock_holder[0].name
  member    = google_service_account.service.member
}

# Each caller may invoke this service (an ID token whose audience is the service's URL).
resource "google_cloud_run_v2_service_iam_member" "callers_invoke_service" {
  for_each = toset(var.caller_service_accounts)

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.api.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${each.value}"
}

# --- Asynchronous requests and side outputs (async.tf; only when enabled) --------------------
# The service creates, reads and deletes jobs (objectUser on the jobs bucket), writes and
# replaces answers (a custom role on the async output bucket: create and delete, no read) and
# writes side outputs (objectCreator on that bucket);
# the readers read the answers. The trigger's account invokes this service and receives
# Eventarc events (a project-level role: Eventarc has no narrower binding); the Cloud Storage
# service agent publishes the bucket's events (project-level: Eventarc checks it there when it
# creates the trigger); the Pub/Sub service agent forwards dead letters (on the dead-letter topic
# and Eventarc's subscription), as in modules/gcp-bulk.

resource "google_storage_bucket_iam_member" "service_runs_async_jobs" {
  count = local.async_enabled ? 1 : 0

  bucket = google_storage_bucket.async["jobs"].name
  role   = "roles/storage.objectUser"
  member = google_service_account.service.member
}

resource "google_project_iam_custom_role" "output_writer" {
  count = local.async_enabled ? 1 : 0

  project     = var.project_id
  role_id     = "psoxy_${replace(var.instance_id, "-", "_")}_async_output_writer"
  title       = "psoxy ${var.instance_id} asynchronous answer writer"
  description = "Create and replace objects, nothing else (no read, no list): bound on the async output bucket of ${local.service_name} only. Replacing matters: a job delivered again writes its answer again."
  permissions = [
    "storage.objects.create",
    "storage.objects.delete",
  ]
}

resource "google_storage_bucket_iam_member" "service_writes_async_output" {
  count = local.async_enabled ? 1 : 0

  bucket = google_storage_bucket.async["output"].name
  role   = google_project_iam_custom_role.output_writer[0].name
  member = google_service_account.service.member
}

resource "google_storage_bucket_iam_member" "readers_read_async_output" {
  for_each = local.async_enabled ? toset(var.async_reader_members) : toset([])

  bucket = google_storage_bucket.async["output"].name
  role   = "roles/storage.objectViewer"
  member = each.value
}

resource "google_storage_bucket_iam_member" "service_writes_side_output" {
  count = local.side_output_bucket == null ? 0 : 1

  bucket = local.side_output_bucket
  role   = "roles/storage.objectCreator"
  member = google_service_account.service.member
}

resource "google_service_account" "trigger" {
  count = local.async_enabled ? 1 : 0

  project      = var.project_id
  account_id   = "${local.service_name}-async"
  display_name = "psoxy ${var.instance_id} async jobs trigger"
  description  = "Identity of the Eventarc trigger that pushes the asynchronous jobs of ${local.service_name} to it."

  lifecycle {
    precondition {
      condition     = length(var.instance_id) <= 18
      error_message = "enable_async_processing needs an instance_id of at most 18 characters (the trigger's service account id, psoxy-<instance_id>-async, may have 30)."
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_service" {
  count = local.async_enabled ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.api.name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger[0].member
}

resource "google_project_iam_member" "trigger_receives_events" {
  count = local.async_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.trigger[0].member
}

# The Cloud Storage service agent, which publishes the bucket's notifications to Eventarc's
# Pub/Sub topic.
data "google_storage_project_service_account" "gcs" {
  count = local.async_enabled ? 1 : 0

  project = var.project_id
}

resource "google_project_iam_member" "gcs_agent_publishes_events" {
  count = local.async_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = data.google_storage_project_service_account.gcs[0].member
}

# --- Dead letters of the asynchronous jobs (only when enabled) -------------------------------

data "google_project" "this" {
  count = local.async_enabled ? 1 : 0

  project_id = var.project_id
}

locals {
  # The Pub/Sub service agent, which forwards undeliverable events to the dead-letter topic.
  pubsub_agent = local.async_enabled ? "serviceAccount:service-${data.google_project.this[0].number}@gcp-sa-pubsub.iam.gserviceaccount.com" : null
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  count = local.async_enabled ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.async_dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

# Pub/Sub acknowledges a forwarded message on the source subscription as its service agent.
# (Eventarc reports the subscription's full name; the grant takes its id in the project.)
resource "google_pubsub_subscription_iam_member" "pubsub_agent_forwards_dead_letters" {
  count = local.async_enabled ? 1 : 0

  project      = var.project_id
  subscription = basename(local.async_subscription)
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
