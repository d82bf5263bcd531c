# The caller role (`psoxy-<id>-caller`, created when var.caller_trust_principal is set): invoke
# this function through its URL, nothing else. Assumed by the vendor's AWS principals and/or its
# Google service accounts (web-identity federation, checked on the token's `aud`).

locals {
  create_caller_role = var.caller_trust_principal != null
  caller_trust = {
    aws_principal_arns         = try(var.caller_trust_principal.aws_principal_arns, [])
    external_id                = try(var.caller_trust_principal.external_id, null)
    google_service_account_ids = try(var.caller_trust_principal.google_service_account_ids, [])
  }
}

data "aws_iam_policy_document" "caller_trust" {
  count = local.create_caller_role ? 1 : 0

  dynamic "statement" {
    for_each = length(local.caller_trust.google_service_account_ids) > 0 ? [1] : []
    content {
      sid     = "CallerGoogleServiceAccounts"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = ["accounts.google.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "accounts.google.com:aud"
        values   = local.caller_trust.google_service_account_ids
      }
    }
  }

  dynamic "statement" {
    for_each = length(local.caller_trust.aws_principal_arns) > 0 ? [1] : []
    content {
      sid     = "CallerAwsPrincipals"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = local.caller_trust.aws_principal_arns
      }
      dynamic "condition" {
        for_each = local.caller_trust.external_id == null ? [] : [local.caller_trust.external_id]
        content {
          test     = "StringEquals"
          variable = "sts:ExternalId"
          values   = [condition.value]
        }
      }
    }
  }
}

resource "aws_iam_role" "caller" {
  count = local.create_caller_role ? 1 : 0

  name               = "${local.function_name}-caller"
  description        = "May call the psoxy API function URL of ${local.function_name}, nothing else."
  assume_role_policy = data.aws_iam_policy_document.caller_trust[0].json
  tags               = local.tags
}

data "aws_iam_policy_document" "caller" {
  statement {
    sid       = "InvokeFunctionUrl"
    actions   = ["lambda:InvokeFunctionUrl"]
    resources = [aws_lambda_function.api.arn]
    condition {
      test     = "StringEquals"
      variable = "lambda:FunctionUrlAuthType"
      values   = ["AWS_IAM"]
    }
  }

  statement {
    sid       = "InvokeFunctionViaUrl"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.api.arn]
    condition {
      test     = "Bool"
      variable = "lambda:InvokedViaFunctionUrl"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role_policy" "caller" {
  count = local.create_caller_role ? 1 : 0

  name   = "invoke-function-url"
  role   = aws_iam_role.caller[0].id
  policy = data.aws_iam_policy_document.caller.json
}
