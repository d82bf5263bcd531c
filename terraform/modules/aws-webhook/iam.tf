# The function's execution role: read its own SSM parameters (or, with Secrets Manager, its own
# secrets), write its own logs, send to its
# queue and (as the queue's trigger) receive and delete from it, write batches under its prefix
# of the sanitized bucket; read the public half of the accepted KMS keys (only those), and use a
# customer key (only when given). Nothing else.

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
  description        = "Execution role of the psoxy webhook collector ${local.function_name}."
  assume_role_policy = data.aws_iam_policy_document.function_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "function" {
  # Its settings in SSM (the default) ...
  dynamic "statement" {
    for_each = local.use_ssm ? ["${local.param_arn_prefix}*"] : []
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
    sid       = "QueueSanitizedWebhooks"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.webhooks.arn]
  }

  # What Lambda's SQS trigger does as the function's role.
  statement {
    sid = "ReceiveBatches"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.webhooks.arn]
  }

  # A large batch is a multipart upload, aborted on failure.
  statement {
    sid       = "WriteBatches"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.output_prefix}*"]
  }

  # Only the accepted KMS keys' public halves.
  dynamic "statement" {
    for_each = length(local.public_key_arns) > 0 ? [local.public_key_arns] : []
    content {
      sid       = "ReadAcceptedPublicKeys"
      actions   = ["kms:GetPublicKey"]
      resources = statement.value
    }
  }

  # Only with a customer-managed key: decrypt the SecureStrings (or secrets) and received messages, and
  # encrypt what it sends and writes.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid       = "UseCustomerKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "least-privilege"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
