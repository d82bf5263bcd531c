# The analytics vendor's role: read and list the sanitized bucket, nothing else. Assumed by the
# vendor's Google service accounts (web-identity federation, checked on the token's `aud`)
# and/or by AWS principals. Not created when neither is given.

locals {
  create_reader = length(var.reader_google_service_account_ids) + length(var.reader_aws_principals) > 0
}

data "aws_iam_policy_document" "reader_trust" {
  count = local.create_reader ? 1 : 0

  dynamic "statement" {
    for_each = length(var.reader_google_service_account_ids) > 0 ? [1] : []
    content {
      sid     = "VendorGoogleServiceAccounts"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = ["accounts.google.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "accounts.google.com:aud"
        values   = var.reader_google_service_account_ids
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.reader_aws_principals) > 0 ? [1] : []
    content {
      sid     = "VendorAwsPrincipals"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = var.reader_aws_principals
      }
      dynamic "condition" {
        for_each = var.reader_external_id == null ? [] : [var.reader_external_id]
        content {
          test     = "StringEquals"
          variable = "sts:ExternalId"
          values   = [condition.value]
        }
      }
    }
  }
}

resource "aws_iam_role" "reader" {
  count = local.create_reader ? 1 : 0

  name               = "${local.function_name}-reader"
  description        = "Read-only access to the sanitized output of ${local.function_name}, for the analytics vendor."
  assume_role_policy = data.aws_iam_policy_document.reader_trust[0].json
  tags               = local.tags
}

data "aws_iam_policy_document" "reader" {
  statement {
    sid       = "ListSanitized"
    actions   = ["s3:ListBucket"]
    resources = [local.sanitized_bucket_arn]
  }

  statement {
    sid       = "ReadSanitized"
    actions   = ["s3:GetObject"]
    resources = ["${local.sanitized_bucket_arn}/*"]
  }

  # SSE-KMS objects cannot be read without decrypting their data key.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid       = "DecryptSanitized"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "reader" {
  count = local.create_reader ? 1 : 0

  name   = "read-sanitized"
  role   = aws_iam_role.reader[0].id
  policy = data.aws_iam_policy_document.reader.json
}
