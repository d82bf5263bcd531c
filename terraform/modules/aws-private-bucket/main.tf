# A private bucket with the guard rails every psoxy bucket of sanitized output has: no public
# access, no ACLs (bucket owner enforced), default encryption (SSE-S3, or SSE-KMS with the
# customer's key), TLS only, cleanup of abandoned multipart uploads, optional expiry, and read
# access for the listed principals under a prefix. Used by aws-webhook (the batches) and aws-api
# (the asynchronous answers).

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket the customer chooses; enable it there (the functions' writes are in CloudWatch Logs).
  #checkov:skip=CKV_AWS_144:Cross-region replication is the customer's choice; the objects are sanitized and can be produced again.
  #checkov:skip=CKV_AWS_21:Objects are written once under new names; versioning would keep nothing new.
  #checkov:skip=CKV2_AWS_62:Readers fetch on their own schedule; nothing here consumes the bucket's events.
  bucket_prefix = var.name_prefix
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

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
    status = var.expiration_days > 0 ? "Enabled" : "Disabled"
    filter {
      prefix = "" # every object (an empty `filter {}` draws a provider warning)
    }
    expiration {
      days = max(var.expiration_days, 1)
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
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
      resources = [aws_s3_bucket.this.arn]
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
      resources = ["${aws_s3_bucket.this.arn}/${var.reader_prefix}*"]
      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # A bucket policy is refused until the public access block exists.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
