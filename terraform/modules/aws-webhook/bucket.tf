# The sanitized bucket the batches go to: an existing one (sanitized_bucket_name), or one made
# here with the bulk module's guard rails: no public access, no ACLs, default encryption, TLS
# only, lifecycle expiry, cleanup of abandoned multipart uploads; readable by
# reader_principal_arns.

locals {
  create_bucket = var.sanitized_bucket_name == null
  bucket_name   = local.create_bucket ? aws_s3_bucket.sanitized[0].id : var.sanitized_bucket_name
  bucket_arn    = "arn:${local.partition}:s3:::${local.bucket_name}"
}

resource "aws_s3_bucket" "sanitized" {
  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket the customer chooses; enable it there (the function's writes are in CloudWatch Logs).
  #checkov:skip=CKV_AWS_144:Cross-region replication is the customer's choice; the batches hold sanitized data only.
  #checkov:skip=CKV_AWS_21:The batches are written once and named by their content; versioning would keep nothing new.
  #checkov:skip=CKV2_AWS_62:The analytics vendor reads the bucket on its own schedule; nothing here consumes its events.
  count = local.create_bucket ? 1 : 0

  bucket_prefix = "psoxy-${var.instance_id}-sanitized-"
  force_destroy = var.force_destroy_buckets
  tags          = merge(local.tags, { "psoxy-bucket" = "sanitized" })
}

resource "aws_s3_bucket_public_access_block" "sanitized" {
  count = local.create_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.sanitized[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "sanitized" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.sanitized[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "sanitized" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.sanitized[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "sanitized" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.sanitized[0].id

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
    status = var.sanitized_expiration_days > 0 ? "Enabled" : "Disabled"
    filter {
      prefix = "" # every object (an empty `filter {}` draws a provider warning)
    }
    expiration {
      days = max(var.sanitized_expiration_days, 1)
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  count = local.create_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.sanitized[0].arn,
      "${aws_s3_bucket.sanitized[0].arn}/*",
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

  dynamic "statement" {
    for_each = length(var.reader_principal_arns) > 0 ? [var.reader_principal_arns] : []
    content {
      sid       = "ReadersList"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.sanitized[0].arn]
      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.reader_principal_arns) > 0 ? [var.reader_principal_arns] : []
    content {
      sid       = "ReadersGet"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.sanitized[0].arn}/${local.output_prefix}*"]
      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_s3_bucket_policy" "sanitized" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.sanitized[0].id
  policy = data.aws_iam_policy_document.bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.sanitized]
}
