# The function's execution role: read its own SSM parameters (or, with Secrets Manager, its own
# secrets), write its own logs; and only when the strategy needs it: write back the rotated
# refresh token, write the shared access token and create, read and delete its lock (each by
# exact name), and get Cognito OpenID tokens of its own identity pool (workload identity
# federation); with asynchronous requests or side outputs, their queue and objects. With
# vpc_config, vpc.tf adds the network interfaces' grants as a policy of its own. Nothing else.

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
  description        = "Execution role of the psoxy API function ${local.function_name}."
  assume_role_policy = data.aws_iam_policy_document.function_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "function" {
  # The function asks GetParameters (10 names a call) for every setting the environment does
  # not set, whether or not such a parameter exists (an unset optional one, e.g. OAUTH_SCOPES,
  # comes back as invalid), and a call naming any parameter the role may not read is refused
  # as a whole; so the grant is the instance's own prefix, which holds its parameters only.
  # GetParameter: the shared access token and its lock, read uncached one at a time.
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

  # With Secrets Manager: GetSecretValue, one name a call, for the same settings (the shared
  # access token too), on the instance's own prefix (see local.secret_arn_prefix) ...
  dynamic "statement" {
    for_each = local.use_secrets_manager ? ["${local.secret_arn_prefix}*"] : []
    content {
      sid       = "ReadOwnSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # ... and the shared token's lock, which stays an SSM String.
  dynamic "statement" {
    for_each = length(local.readable_lock_arns) > 0 ? [local.readable_lock_arns] : []
    content {
      sid       = "ReadSharedTokenLock"
      actions   = ["ssm:GetParameter"]
      resources = statement.value
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

  # Only the parameters the function writes, by exact name: REFRESH_TOKEN (grants with a refresh
  # token: a source that rotates refresh tokens returns a new one with each access token, and
  # the old one stops working), and with a shared token ACCESS_TOKEN and the lock
  # OAUTH_REFRESH_TOKEN_lock (a String the function creates with Overwrite=false).
  dynamic "statement" {
    for_each = length(local.writable_parameter_arns) > 0 ? [local.writable_parameter_arns] : []
    content {
      sid       = "WriteOwnTokens"
      actions   = ["ssm:PutParameter"]
      resources = statement.value
    }
  }

  # ... and deletes the lock when its refresh is done (or when it finds it stale).
  dynamic "statement" {
    for_each = length(local.deletable_parameter_arns) > 0 ? [local.deletable_parameter_arns] : []
    content {
      sid       = "DeleteSharedTokenLock"
      actions   = ["ssm:DeleteParameter"]
      resources = statement.value
    }
  }

  # With Secrets Manager, the written tokens (REFRESH_TOKEN, a shared ACCESS_TOKEN) are secrets:
  # PutSecretValue on exactly those.
  dynamic "statement" {
    for_each = length(local.writable_secret_arns) > 0 ? [local.writable_secret_arns] : []
    content {
      sid       = "WriteOwnTokenSecrets"
      actions   = ["secretsmanager:PutSecretValue"]
      resources = statement.value
    }
  }

  # Only with workload identity federation: an OpenID token of a developer identity of the
  # function's own identity pool (the client assertion Entra ID accepts).
  dynamic "statement" {
    for_each = [for pool in aws_cognito_identity_pool.workload_identity : pool.arn]
    content {
      sid       = "GetOpenIdTokenOfOwnIdentityPool"
      actions   = ["cognito-identity:GetOpenIdTokenForDeveloperIdentity"]
      resources = [statement.value]
    }
  }

  # Only with asynchronous requests: send accepted requests to their queue, and (as the queue's
  # trigger) receive and delete them.
  dynamic "statement" {
    for_each = [for queue in aws_sqs_queue.async : queue.arn]
    content {
      sid = "AsyncRequestQueue"
      actions = [
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
      ]
      resources = [statement.value]
    }
  }

  # Only with asynchronous requests or a side output: write the answers there (a large one by
  # multipart upload, aborted on failure).
  dynamic "statement" {
    for_each = length(local.written_object_arns) > 0 ? [local.written_object_arns] : []
    content {
      sid       = "WriteAnswers"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = statement.value
    }
  }

  # Only with a customer-managed key and asynchronous requests or side outputs: encrypt what is
  # sent to the queue and written to the objects (SQS and S3 ask KMS for a data key as the
  # writer; a bucket encrypted with another key needs a grant of that key's own).
  dynamic "statement" {
    for_each = local.use_kms && local.writes_objects ? [var.kms_key_arn] : []
    content {
      sid       = "EncryptAsyncWithCustomerKey"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  # Only with a customer-managed key: decrypt the SecureStrings (or secrets), the queued requests,
  # and the parts of a multipart upload to complete it.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid       = "DecryptWithCustomerKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  # ... and encrypt the SecureStrings it writes with it (a standard SecureString is encrypted by
  # SSM calling kms:Encrypt as the writer; the lock is a plain String) ...
  dynamic "statement" {
    for_each = local.use_ssm && local.use_kms && length(local.written_secure_settings) > 0 ? [var.kms_key_arn] : []
    content {
      sid       = "EncryptWrittenTokensWithCustomerKey"
      actions   = ["kms:Encrypt"]
      resources = [statement.value]
    }
  }

  # ... or the secrets it writes (Secrets Manager asks KMS for a data key as the writer).
  dynamic "statement" {
    for_each = local.use_secrets_manager && local.use_kms && length(local.written_secure_settings) > 0 ? [var.kms_key_arn] : []
    content {
      sid       = "EncryptWrittenSecretsWithCustomerKey"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "least-privilege"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
