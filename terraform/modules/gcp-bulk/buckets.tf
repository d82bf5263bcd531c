# The input bucket (raw exports, PII) and the sanitized bucket (read by the vendor) get the same
# guard rails: uniform bucket-level access (no object ACLs), public access prevention enforced,
# Google-managed or customer-managed (kms_key_name) encryption, optional versioning, and
# lifecycle expiry.

resource "random_id" "bucket_suffix" {
  byte_length = 4
}

locals {
  buckets = {
    input = {
      name            = coalesce(var.input_bucket_name, "psoxy-${var.instance_id}-input-${random_id.bucket_suffix.hex}")
      expiration_days = var.input_expiration_days
    }
    sanitized = {
      name            = coalesce(var.sanitized_bucket_name, "psoxy-${var.instance_id}-sanitized-${random_id.bucket_suffix.hex}")
      expiration_days = var.sanitized_expiration_days
    }
  }
}

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Access logging needs a separate log bucket the customer chooses; Cloud Audit Logs (data access) record object reads and writes where enabled.
  #checkov:skip=CKV_GCP_78:Versioning is a variable (var.enable_versioning); objects here are re-creatable exports, so it is off by default.
  for_each = local.buckets

  project       = var.project_id
  name          = each.value.name
  location      = var.region
  force_destroy = var.force_destroy_buckets
  labels        = merge(local.labels, { "psoxy-bucket" = each.key })

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = var.enable_versioning
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  # Objects are deleted this many days after they were written (0: kept).
  dynamic "lifecycle_rule" {
    for_each = each.value.expiration_days > 0 ? [each.value.expiration_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  # With versioning, replaced or deleted versions are removed after a while.
  dynamic "lifecycle_rule" {
    for_each = var.enable_versioning ? [var.noncurrent_version_expiration_days] : []
    content {
      condition {
        days_since_noncurrent_time = lifecycle_rule.value
        with_state                 = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }

  # With kms_key_name, the Cloud Storage service agent must be able to use the key first.
  depends_on = [google_kms_crypto_key_iam_member.agents_use_key]
}
