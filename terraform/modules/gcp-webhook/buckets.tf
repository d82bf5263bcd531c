# The queue bucket (sanitized webhooks waiting to be batched, one object each) and the output
# bucket (the batches, read by the vendor) get the guard rails of modules/gcp-bulk's buckets:
# uniform bucket-level access (no object ACLs), public access prevention enforced,
# Google-managed or customer-managed (kms_key_name) encryption, and lifecycle expiry. The queue
# only ever holds sanitized bytes; whatever the batch service has not taken within
# queue_retention_days is deleted. Versioning (enable_versioning) is for the output bucket
# only: the queue's objects are deleted once batched, and versions would only keep them; nor
# does the queue soft-delete them (the output bucket keeps Cloud Storage's default, as gcp-bulk's
# sanitized bucket).

resource "random_id" "bucket_suffix" {
  byte_length = 4
}

locals {
  buckets = {
    queue = {
      name            = coalesce(var.queue_bucket_name, "psoxy-${var.instance_id}-queue-${random_id.bucket_suffix.hex}")
      expiration_days = var.queue_retention_days
      versioning      = false
      soft_delete     = false
    }
    output = {
      name            = coalesce(var.output_bucket_name, "psoxy-${var.instance_id}-output-${random_id.bucket_suffix.hex}")
      expiration_days = var.output_expiration_days
      versioning      = var.enable_versioning
      soft_delete     = true
    }
  }
}

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Access logging needs a separate log bucket the customer chooses; Cloud Audit Logs (data access) record object reads and writes where enabled.
  #checkov:skip=CKV_GCP_78:Versioning is a variable for the output bucket (var.enable_versioning, off by default: batches are named by their content); the queue's objects are deleted once batched, so it is never versioned.
  for_each = local.buckets

  project       = var.project_id
  name          = each.value.name
  location      = var.region
  force_destroy = var.force_destroy_buckets
  labels        = merge(local.labels, { "psoxy-bucket" = each.key })

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = each.value.versioning
  }

  # The queue's objects live minutes: soft-deleted copies of each would only cost storage and
  # keep what was batched.
  dynamic "soft_delete_policy" {
    for_each = each.value.soft_delete ? [] : [0]
    content {
      retention_duration_seconds = soft_delete_policy.value
    }
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
    for_each = each.value.versioning ? [var.noncurrent_version_expiration_days] : []
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
