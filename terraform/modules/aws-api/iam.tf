# The function's execution role: read its own SSM parameters, write its own logs, and (only with
# oauth2_refresh_token) write back the rotated refresh token. Nothing else.

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
  statement {
    sid       = "ReadOwnParameters"
    actions   = ["ssm:GetParameters"]
    resources = ["${local.param_arn_prefix}*"]
  }

  statement {
    sid = "WriteOwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  # Only with oauth2_refresh_token: a source that rotates refresh tokens returns a new one with
  # each access token, and the old one stops working; the function overwrites this parameter.
  dynamic "statement" {
    for_each = local.writes_refresh_token ? ["${local.param_arn_prefix}REFRESH_TOKEN"] : []
    content {
      sid       = "WriteRefreshToken"
      actions   = ["ssm:PutParameter"]
      resources = [statement.value]
    }
  }

  # Only with a customer-managed key: decrypt the SecureStrings.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid       = "DecryptWithCustomerKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  # ... and encrypt the rotated refresh token with it (a standard SecureString is encrypted by
  # SSM calling kms:Encrypt as the writer).
  dynamic "statement" {
    for_each = local.use_kms && local.writes_refresh_token ? [var.kms_key_arn] : []
    content {
      sid       = "EncryptRefreshTokenWithCustomerKey"
      actions   = ["kms:Encrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "least-privilege"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
