# The input bucket (raw exports, PII), the sanitized bucket (read by the vendor) and, with
# fanout_enabled, the work bucket of the fan-out (plans and sanitized parts, PII-free but not
# for anyone else) get the same guard rails: no public access, no ACLs, default encryption, TLS
# only, optional versioning (never on the work bucket), lifecycle expiry, and cleanup of
# abandoned multipart uploads.
#
# An existing input or sanitized bucket (existing_input_bucket_name,
# existing_sanitized_bucket_name) is used as it is: none of these resources is made for it (its
# encryption, policy, versioning and lifecycle stay its owner's); the function's grants, its
# trigger and the reader role name it instead.

locals {
  buckets = { for role, bucket in {
    input = {
      name            = var.input_bucket_name
      prefix          = "psoxy-${var.instance_id}-input-"
      expiration_days = var.input_expiration_days
      versioned       = var.enable_versioning
    }
    sanitized = {
      name            = var.sanitized_bucket_name
      prefix          = "psoxy-${var.instance_id}-sanitized-"
      expiration_days = var.sanitized_expiration_days
      versioned       = var.enable_versioning
    }
    # A run's objects live minutes to hours; what a failed run left behind goes after 2 days.
    work = {
      name            = null
      prefix          = "psoxy-${var.instance_id}-work-"
      expiration_days = 2
      versioned       = false
    }
  } : role => bucket if lookup(local.existing_buckets, role, null) == null && (role != "work" || var.fanout_enabled) }

  existing_buckets = {
    input     = var.existing_input_bucket_name
    sanitized = var.existing_sanitized_bucket_name
  }
  # The buckets the function reads and writes, made here or existing (the unselected branch of
  # a conditional is not an error, so a bucket that is not made here is not looked up).
  input_bucket_name     = var.existing_input_bucket_name != null ? var.existing_input_bucket_name : aws_s3_bucket.this["input"].id
  input_bucket_arn      = var.existing_input_bucket_name != null ? "arn:${local.partition}:s3:::${var.existing_input_bucket_name}" : aws_s3_bucket.this["input"].arn
  sanitized_bucket_name = var.existing_sanitized_bucket_name != null ? var.existing_sanitized_bucket_name : aws_s3_bucket.this["sanitized"].id
  sanitized_bucket_arn  = var.existing_sanitized_bucket_name != null ? "arn:${local.partition}:s3:::${var.existing_sanitized_bucket_name}" : aws_s3_bucket.this["sanitized"].arn
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket the customer chooses; enable it there (the function's own reads and writes are in CloudWatch Logs).
  #checkov:skip=CKV_AWS_144:Cross-region replication would copy raw PII to a second region; the input bucket is a transit area and the sanitized data can be re-derived.
  #checkov:skip=CKV_AWS_21:Versioning is a variable (var.enable_versioning); objects here are re-creatable exports, so it is off by default.
  #checkov:skip=CKV2_AWS_62:The input bucket notifies the function (aws_s3_bucket_notification.input); the sanitized and work buckets have no consumer to notify.
  for_each = local.buckets

  bucket        = each.value.name
  bucket_prefix = each.value.name == null ? each.value.prefix : null
  force_destroy = var.force_destroy_buckets
  tags          = merge(local.tags, { "psoxy-bucket" = each.key })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = local.buckets[each.key].versioned ? "Enabled" : "Disabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  # Parts of an upload that never completed (e.g. a function that timed out) are invisible but
  # billed; the function aborts its uploads on error, this catches the rest.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {
      prefix = "" # every object (an empty `filter {}` draws a provider warning)
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-objects"
    status = local.buckets[each.key].expiration_days > 0 ? "Enabled" : "Disabled"
    filter {
      prefix = "" # every object (an empty `filter {}` draws a provider warning)
    }
    expiration {
      days = max(local.buckets[each.key].expiration_days, 1)
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = local.buckets[each.key].versioned ? "Enabled" : "Disabled"
    filter {
      prefix = "" # every object (an empty `filter {}` draws a provider warning)
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket_tls_only" {
  for_each = aws_s3_bucket.this

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      each.value.arn,
      "${each.value.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.bucket_tls_only[each.key].json

  # A bucket policy is refused until the public access block exists.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
