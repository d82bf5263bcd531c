# The salt and the encryption key live in Secret Manager as `<secret_prefix>PSOXY_SALT` and
# `<secret_prefix>PSOXY_ENCRYPTION_KEY`, as in modules/gcp-bulk; the collector reads each as an
# environment variable of the same name (the `latest` version, resolved when an instance
# starts). The batch service reads no secret: it merges objects that are sanitized already. The
# generated values are kept in the Terraform state: protect the state like the secrets. Give
# the salt of an existing deployment (salt, or salt_secret_id) so webhook pseudonyms join its
# bulk and API data.

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
  # The secrets the module creates, by setting, and what each holds. The salt is not created
  # when salt_secret_id names an existing one (e.g. PSOXY_SHARED_PSOXY_SALT, shared by several
  # instances). The key is secret, but whether one was given is not.
  created_secrets = merge(
    var.salt_secret_id == null ? { PSOXY_SALT = "salt of every pseudonym; changing it changes every pseudonym" } : {},
    var.generate_encryption_key || nonsensitive(var.encryption_key != null) ? { PSOXY_ENCRYPTION_KEY = "key of the reversible tokens" } : {},
  )
  secret_values = {
    PSOXY_SALT           = var.salt != null ? var.salt : random_password.salt.result
    PSOXY_ENCRYPTION_KEY = var.encryption_key != null ? var.encryption_key : one(random_password.encryption_key[*].result)
  }
}

resource "google_secret_manager_secret" "this" {
  for_each = local.created_secrets

  project   = var.project_id
  secret_id = "${local.secret_prefix}${each.key}"
  labels    = local.labels
  annotations = {
    description = "${each.value} (${local.service_name})"
  }

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "this" {
  for_each = google_secret_manager_secret.this

  secret      = each.value.id
  secret_data = local.secret_values[each.key]
}

locals {
  # The collector's secret environment: setting -> secret id (in var.project_id).
  secret_environment = merge(
    { for name, secret in google_secret_manager_secret.this : name => secret.secret_id },
    var.salt_secret_id == null ? {} : { PSOXY_SALT = var.salt_secret_id },
  )
}
