# The service's secrets live in Secret Manager as `<secret_prefix><SETTING>`. The salt and the
# encryption key are generated (or given) here, as in the bulk module, and kept in the Terraform
# state: protect the state like the secrets. The source's credentials are never known to
# Terraform: they are filled out of band (`gcloud secrets versions add`), and Terraform leaves
# them alone. Until then, a secret bound into the environment holds a placeholder version (a
# revision cannot start with a secret that has none), which the service reads as unset (its
# health check reports the missing credential); a secret the service rewrites (REFRESH_TOKEN, a
# shared ACCESS_TOKEN) gets no version from Terraform, so Terraform owns no version the service
# may destroy, and none that could ever be added again over a newer one.

resource "random_password" "salt" {
  length  = 32
  special = false
}

resource "random_password" "encryption_key" {
  count = var.generate_encryption_key ? 1 : 0

  length  = 32
  special = false
}

locals {
  # What a credential secret holds until it is filled; the source refuses it, so nothing is
  # served before the real credential is put.
  secret_placeholder = "PLACEHOLDER: fill with gcloud secrets versions add"

  # Every secret the module creates, by setting, with its description. The salt is not created
  # when salt_secret_id names an existing one; the key is secret, but whether one was given is
  # not.
  created_secrets = merge(
    var.salt_secret_id == null ? { PSOXY_SALT = "salt of every pseudonym; changing it changes every pseudonym" } : {},
    var.generate_encryption_key || nonsensitive(var.encryption_key != null) ? { PSOXY_ENCRYPTION_KEY = "key of the reversible tokens" } : {},
    { for name in local.source_secret_settings : name => (
      local.use_shared_token && name == "ACCESS_TOKEN"
      ? "access token shared by the instances (${local.strategy_label}); written by the service, never set by hand"
      : "${name} of the source API (${local.strategy_label}); set out of band"
    ) },
    local.use_shared_token ? { (local.shared_token_lock) = "lock of the shared token refresh (label `locked`); updated by the service, holds no version" } : {},
  )
  pseudonym_secret_values = {
    PSOXY_SALT           = var.salt != null ? var.salt : random_password.salt.result
    PSOXY_ENCRYPTION_KEY = var.encryption_key != null ? var.encryption_key : one(random_password.encryption_key[*].result)
  }
}

resource "google_secret_manager_secret" "this" {
  for_each = local.created_secrets

  project   = var.project_id
  secret_id = "${local.secret_prefix}${each.key}"
  # Labels are non-authoritative (provider 5+): the service's own labels (`latest-version` on
  # the shared token, `locked` on the lock) are left alone.
  labels = local.labels
  annotations = {
    description = "${each.value} (${local.service_name})"
  }

  replication {
    auto {}
  }
}

# The salt and the encryption key, as generated or given.
resource "google_secret_manager_secret_version" "pseudonym" {
  for_each = { for name, secret in google_secret_manager_secret.this : name => secret if contains(["PSOXY_SALT", "PSOXY_ENCRYPTION_KEY"], name) }

  secret      = each.value.id
  secret_data = local.pseudonym_secret_values[each.key]
}

# The static credentials bound into the environment: a placeholder, until a version added out
# of band supersedes it. Terraform never replaces or re-enables it (whoever fills the secret may
# disable or destroy it), and leaves it to the secret's deletion.
resource "google_secret_manager_secret_version" "placeholder" {
  for_each = { for name, secret in google_secret_manager_secret.this : name => secret if contains(tolist(local.static_secret_settings), name) }

  secret          = each.value.id
  secret_data     = local.secret_placeholder
  deletion_policy = "ABANDON"

  lifecycle {
    ignore_changes = [secret_data, enabled]
  }
}

locals {
  # The secrets bound into the service's environment at start: setting -> secret id.
  secret_environment = merge(
    { for name, secret in google_secret_manager_secret.this : name => secret.secret_id if !contains(concat(tolist(local.written_secret_settings), [local.shared_token_lock]), name) },
    var.salt_secret_id == null ? {} : { PSOXY_SALT = var.salt_secret_id },
  )
}
