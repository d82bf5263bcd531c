# Asynchronous requests (enable_async_processing): an accepted `Prefer: respond-async` request is
# queued on SQS; the same function, triggered by the queue, runs it again and writes the
# sanitized answer (gzip), or `<id>.error.json` naming the status and error code, to the async
# bucket under yyyyMMdd/<id>. A request whose outcome cannot be written returns to the queue,
# then stays in the dead-letter queue. Side outputs (side_output_sanitized) go to a bucket the
# customer names.

locals {
  async_enabled = var.enable_async_processing
  # The bucket and key prefix of SIDE_OUTPUT_SANITIZED.
  side_output_bucket = var.side_output_sanitized == null ? null : split("/", trimprefix(var.side_output_sanitized, "s3://"))[0]
  side_output_prefix = var.side_output_sanitized == null ? null : trimsuffix(join("/", slice(split("/", trimprefix(var.side_output_sanitized, "s3://")), 1, length(split("/", trimprefix(var.side_output_sanitized, "s3://"))))), "/")
  # What the function may write: the async bucket, the side output's prefix.
  written_object_arns = concat(
    [for b in aws_s3_bucket.async : "${b.arn}/*"],
    local.side_output_bucket == null ? [] : [
      "arn:${local.partition}:s3:::${local.side_output_bucket}/${local.side_output_prefix == "" ? "" : "${local.side_output_prefix}/"}*"
    ],
  )
}

resource "aws_sqs_queue" "async_dead_letters" {
  count = local.async_enabled ? 1 : 0

  name                              = "${local.function_name}-async-dead-letters"
  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  tags                              = local.tags
}

resource "aws_sqs_queue" "async" {
  count = local.async_enabled ? 1 : 0

  name                              = "${local.function_name}-async"
  visibility_timeout_seconds        = max(6 * var.timeout_seconds, 30)
  message_retention_seconds         = 345600
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.async_dead_letters[0].arn
    maxReceiveCount     = 3
  })
  tags = local.tags
}

resource "aws_lambda_event_source_mapping" "async" {
  count = local.async_enabled ? 1 : 0

  event_source_arn        = aws_sqs_queue.async[0].arn
  function_name           = aws_lambda_function.api.arn
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  depends_on = [aws_iam_role_policy.function]
}

resource "aws_s3_bucket" "async" {
  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket the customer chooses; enable it there.
  #checkov:skip=CKV_AWS_144:Cross-region replication is the customer's choice; the answers are sanitized and can be fetched again.
  #checkov:skip=CKV_AWS_21:Each answer is written once under a new id; versioning would keep nothing new.
  #checkov:skip=CKV2_AWS_62:Callers poll the Location they were given; nothing here consumes the bucket's events.
  count = local.async_enabled ? 1 : 0

  bucket_prefix = "psoxy-${var.instance_id}-async-"
  force_destroy = false
  tags          = merge(local.tags, { "psoxy-bucket" = "async" })
}

resource "aws_s3_bucket_public_access_block" "async" {
  count = local.async_enabled ? 1 : 0

  bucket                  = aws_s3_bucket.async[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "async" {
  count = local.async_enabled ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "async" {
  count = local.async_enabled ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "async" {
  count = local.async_enabled ? 1 : 0

  bucket = aws_s3_bucket.async[0].id

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
    status = var.async_output_expiration_days > 0 ? "Enabled" : "Disabled"
    filter {
      prefix = "" # every object (an empty `filter {}` draws a provider warning)
    }
    expiration {
      days = max(var.async_output_expiration_days, 1)
    }
  }
}

data "aws_iam_policy_document" "async_bucket" {
  count = local.async_enabled ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.async[0].arn,
      "${aws_s3_bucket.async[0].arn}/*",
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
    for_each = length(var.async_reader_principal_arns) > 0 ? [var.async_reader_principal_arns] : []
    content {
      sid       = "ReadersGet"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.async[0].arn}/*"]
      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_s3_bucket_policy" "async" {
  count = local.async_enabled ? 1 : 0

  bucket = aws_s3_bucket.async[0].id
  policy = data.aws_iam_policy_document.async_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.async]
}
