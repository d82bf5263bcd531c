# The service's account may read its own secrets; and only when the strategy needs it: add
# versions to (and destroy the older versions of) the secrets it rewrites, and update the label
# of the shared token's lock, each on that secret alone. Callers may invoke this service, nothing
# else. Nothing is granted at the project level.

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
