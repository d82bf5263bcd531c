# The function (custom runtime, arm64), its URL (IAM auth) and who may invoke it.

locals {
  environment = merge(
    {
      PATH_TO_INSTANCE_CONFIG = local.param_prefix
      PSOXY_INSTANCE_ID       = var.instance_id
      TARGET_HOST             = var.target_host
      SOURCE_AUTH_STRATEGY    = var.source_auth_strategy
      RUST_LOG                = var.log_level
    },
    # The rules themselves when they fit; otherwise they are the SSM parameter RULES and their
    # hash changes here with them, so a rules change starts fresh instances that read it.
    { for name, value in {
      RULES              = local.rules_value
      PSOXY_RULES_SHA256 = local.rules_sha
    } : name => value if (name == "RULES") == local.rules_in_env },
    # Only the optional settings that are set (their defaults are the binary's).
    { for name, value in {
      UPSTREAM_TIMEOUT_SECONDS = var.upstream_timeout_seconds == null ? "" : tostring(var.upstream_timeout_seconds)
      # A rotated refresh token is written back under the same key as the other parameters.
      SSM_KMS_KEY_ID = local.use_kms && local.writes_refresh_token ? var.kms_key_arn : ""
    } : name => value if value != "" },
    var.source_settings,
    var.extra_environment,
  )
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_117:The function calls the source API on the internet and AWS APIs, all over TLS; a VPC would add a NAT gateway and no protection for this data flow.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the customer's account; the package's SHA-256 is pinned by source_code_hash instead.
  #checkov:skip=CKV_AWS_116:A function URL invokes synchronously: a failed request is answered with its error to the caller, so there is no event for a DLQ to keep.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not instrumented in the binary; timings are in the structured logs.
  function_name = local.function_name
  description   = "psoxy API proxy for ${var.instance_id}: ${var.target_host} (${var.source_auth_strategy})"
  role          = aws_iam_role.function.arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]

  filename = var.lambda_zip_path
  # The package's own hash: an identical rebuild is no change, any code change is deployed.
  source_code_hash = filebase64sha256(var.lambda_zip_path)

  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = (var.rules_file == null) != (var.rules == null)
      error_message = "Give exactly one of rules_file and rules."
    }
    precondition {
      condition     = length(local.missing_source_settings) == 0
      error_message = "source_auth_strategy ${var.source_auth_strategy} needs source_settings ${join(", ", local.missing_source_settings)}."
    }
    precondition {
      # Lambda refuses more than 4 KB of environment (names and values); JSON over-counts a little.
      condition     = length(jsonencode(local.environment)) <= 4096
      error_message = "The function's environment is over 4 KB: shorten source_settings or extra_environment."
    }
    precondition {
      condition     = length(local.rules_value) <= 8192
      error_message = "The rules are over 8 KB even gzipped, more than an SSM parameter holds."
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    aws_ssm_parameter.salt,
    aws_ssm_parameter.rules,
  ]
}

# Every request must be signed (SigV4, service `lambda`) by a principal allowed below.
resource "aws_lambda_function_url" "api" {
  function_name      = aws_lambda_function.api.function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "BUFFERED"
}

locals {
  # Keys are known at plan time (the caller role's ARN is not), so for_each can use them.
  callers = merge(
    { for arn in var.caller_principal_arns : arn => arn },
    { for role in aws_iam_role.caller : "caller-role" => role.arn },
  )
}

# Each caller may invoke the URL with IAM auth ...
resource "aws_lambda_permission" "invoke_url" {
  for_each = local.callers

  statement_id           = "InvokeFunctionUrl-${substr(sha256(each.key), 0, 16)}"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.api.function_name
  principal              = each.value
  function_url_auth_type = "AWS_IAM"
}

# ... and, as function URLs created since October 2025 also require, invoke the function, but
# only through its URL (condition lambda:InvokedViaFunctionUrl).
resource "aws_lambda_permission" "invoke_via_url" {
  for_each = local.callers

  statement_id             = "InvokeFunctionViaUrl-${substr(sha256(each.key), 0, 16)}"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.api.function_name
  principal                = each.value
  invoked_via_function_url = true
}
