# The function's execution role: read the input bucket, write the sanitized bucket, read its own
# SSM parameters, write its own logs, report failures to its own queue. Nothing else.

data "aws_iam_policy_document" "function_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${local.function_name}-function"
  description        = "Execution role of the psoxy bulk function ${local.function_name}."
  assume_role_policy = data.aws_iam_policy_document.function_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadInput"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this["input"].arn}/${var.input_base_path}*"]
  }

  # A multipart upload (CreateMultipartUpload, UploadPart, CompleteMultipartUpload) is
  # authorized by s3:PutObject; aborting one needs its own action.
  statement {
    sid = "WriteSanitized"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${aws_s3_bucket.this["sanitized"].arn}/*"]
  }

  statement {
    sid = "ReadOwnParameters"
    actions = [
      "ssm:GetParameter",
      "ssm:GetParameters",
    ]
    resources = [local.param_arn_pattern]
  }

  statement {
    sid = "WriteOwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  statement {
    sid       = "ReportFailures"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }

  # Only with a customer-managed key: decrypt the SecureStrings and SSE-KMS inputs; S3 also
  # asks for a data key when it encrypts each object (or part) written, and SQS when the
  # failure queue is encrypted with it.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid = "UseCustomerKey"
      actions = [
        "kms:Decrypt",
        "kms:GenerateDataKey",
      ]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "least-privilege"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
