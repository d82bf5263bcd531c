# The function's execution role: read the input bucket, write the sanitized bucket (and, with
# additional_transforms, each destination under its path), read its own SSM parameters (or
# Secrets Manager secrets), write its own logs, report failures to its own queue. Nothing else.
# With vpc_config, vpc.tf adds the network interfaces' grants as a policy of its own.

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
    resources = ["${local.input_bucket_arn}/${var.input_base_path}*"]
  }

  # A multipart upload (CreateMultipartUpload, UploadPart, CompleteMultipartUpload) is
  # authorized by s3:PutObject; aborting one needs its own action.
  statement {
    sid = "WriteSanitized"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${local.sanitized_bucket_arn}/*"]
  }

  # Only with additional_transforms: each destination bucket, under its path.
  dynamic "statement" {
    for_each = local.has_additional_transforms ? [local.additional_destination_objects] : []
    content {
      sid = "WriteAdditionalOutputs"
      actions = [
        "s3:PutObject",
        "s3:AbortMultipartUpload",
      ]
      resources = statement.value
    }
  }

  # Its settings in SSM (the default) ...
  dynamic "statement" {
    for_each = local.use_ssm ? [local.param_arn_pattern] : []
    content {
      sid = "ReadOwnParameters"
      actions = [
        "ssm:GetParameter",
        "ssm:GetParameters",
      ]
      resources = [statement.value]
    }
  }

  # ... or in Secrets Manager (its own prefix: see local.secret_arn_prefix).
  dynamic "statement" {
    for_each = local.use_secrets_manager ? ["${local.secret_arn_prefix}*"] : []
    content {
      sid       = "ReadOwnSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
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

  # Only with a customer-managed key: decrypt the SecureStrings (or secrets) and SSE-KMS inputs;
  # S3 also asks for a data key when it encrypts each object (or part) written, and SQS when the
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

  # Only with additional_transforms whose destinations are encrypted with their own keys
  # (SSE-KMS): a data key per object, and kms:Decrypt to complete a multipart upload.
  dynamic "statement" {
    for_each = length(local.additional_kms_key_arns) > 0 ? [local.additional_kms_key_arns] : []
    content {
      sid = "UseDestinationKeys"
      actions = [
        "kms:Decrypt",
        "kms:GenerateDataKey",
      ]
      resources = statement.value
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "least-privilege"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
