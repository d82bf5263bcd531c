# The function (custom runtime, arm64), its URL (IAM auth) and who may invoke it.

locals {
  environment = merge(
    {
      PATH_TO_INSTANCE_CONFIG = local.param_prefix
      PSOXY_INSTANCE_ID       = var.instance_id
      TARGET_HOST             = var.target_host
      RUST_LOG                = var.log_level
    },
    # The rules themselves when they fit; otherwise they are the SSM parameter RULES and their
    # hash changes here with them, so a rules change starts fresh instances that read it.
    { for name, value in {
      RULES              = local.rules_value
      PSOXY_RULES_SHA256 = local.rules_sha
    } : name => value if(name == "RULES") == local.rules_in_env },
    # The source's authentication, by our names or Psoxy's, and the optional settings that are
    # set (their defaults are the binary's).
    { for name, value in {
      SOURCE_AUTH_STRATEGY            = var.source_auth_strategy
      SOURCE_AUTH_STRATEGY_IDENTIFIER = var.source_auth_strategy_identifier
      GRANT_TYPE                      = var.grant_type
      TOKEN_RESPONSE_TYPE             = var.token_response_type
      REFRESH_ENDPOINT                = local.refresh_endpoint
      CLIENT_ID                       = var.client_id
      CREDENTIALS_FLOW                = var.credentials_flow
      TOKEN_SCOPE                     = local.token_scope
      OAUTH_SCOPES                    = var.oauth_scopes
      IDENTITY_ID                     = var.cognito_identity_id
      # Explicit whenever Psoxy's grant is used (its default depends on the grant), or given.
      USE_SHARED_TOKEN         = local.uses_grant || var.use_shared_token != null ? tostring(local.use_shared_token) : null
      UPSTREAM_TIMEOUT_SECONDS = var.upstream_timeout_seconds == null ? null : tostring(var.upstream_timeout_seconds)
      # Written parameters (a rotated refresh token, the shared access token) are encrypted
      # under the same key as the other parameters.
      SSM_KMS_KEY_ID = local.use_ssm && local.use_kms && length(local.written_secure_settings) > 0 ? var.kms_key_arn : null
    } : name => value if value != null && value != "" },
    # Workload identity federation: the Cognito developer identity whose OpenID token is the
    # client assertion (the pool's id is known after apply, so it is not filtered above).
    local.workload_identity ? {
      IDENTITY_POOL_ID  = aws_cognito_identity_pool.workload_identity[0].id
      DEVELOPER_NAME_ID = local.developer_provider_name
    } : {},
    # Asynchronous requests and side outputs (async.tf).
    local.async_enabled ? {
      ASYNC_OUTPUT_DESTINATION    = local.async_output_destination
      ASYNC_API_REQUEST_QUEUE_URL = aws_sqs_queue.async[0].url
    } : {},
    var.side_output_sanitized == null ? {} : { SIDE_OUTPUT_SANITIZED = var.side_output_sanitized },
    # With Secrets Manager, the function reads (and writes) its secrets there.
    local.use_secrets_manager ? { SECRETS_STORE = "AWS_SECRETS_MANAGER" } : {},
    var.source_settings,
    var.extra_environment,
  )
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_117:VPC placement is optional (vpc_config): the function calls the source API on the internet and AWS APIs, all over TLS, so a VPC adds a NAT gateway for no protection of this data flow.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the customer's account; the package's SHA-256 is pinned by source_code_hash instead.
  #checkov:skip=CKV_AWS_116:A function URL invokes synchronously: a failed request is answered with its error to the caller, so there is no event for a DLQ to keep.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not instrumented in the binary; timings are in the structured logs.
  function_name = local.function_name
  description   = "psoxy API proxy for ${var.instance_id}: ${var.target_host} (${local.strategy_label})"
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

  # Only with vpc_config (vpc.tf).
  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
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
      condition     = (var.source_auth_strategy == null) != (var.source_auth_strategy_identifier == null)
      error_message = "Give exactly one of source_auth_strategy (our names, with source_settings) and source_auth_strategy_identifier (Psoxy's names, with grant_type, client_id, refresh_endpoint...)."
    }
    precondition {
      condition     = length(local.missing_source_settings) == 0
      error_message = "source_auth_strategy ${local.strategy_label} needs source_settings ${join(", ", local.missing_source_settings)}."
    }
    precondition {
      condition     = length(local.auth_problems) == 0
      error_message = "Source authentication ${local.strategy_label}: ${join("; ", local.auth_problems)}."
    }
    precondition {
      # Lambda refuses more than 4 KB of environment (names and values); JSON over-counts a little.
      condition     = length(jsonencode(local.environment)) <= 4096
      error_message = "The function's environment is over 4 KB: shorten source_settings or extra_environment."
    }
    precondition {
      condition     = local.use_secrets_manager || length(local.rules_value) <= 8192
      error_message = "The rules are over 8 KB even gzipped, more than an SSM parameter holds (a secret holds 64 KB: secrets_store = \"aws_secrets_manager\")."
    }
    precondition {
      condition     = var.existing_async_output_destination == null || local.async_enabled
      error_message = "existing_async_output_destination goes with enable_async_processing = true."
    }
    precondition {
      # A bucket policy is made only on the bucket made here.
      condition     = var.existing_async_output_destination == null || length(var.async_reader_principal_arns) == 0
      error_message = "async_reader_principal_arns is granted by the policy of the async bucket made here: with existing_async_output_destination, grant the readers on that bucket instead."
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    module.vpc_access,
    aws_ssm_parameter.salt,
    aws_ssm_parameter.rules,
    aws_ssm_parameter.source_secret,
    aws_secretsmanager_secret_version.setting,
    aws_secretsmanager_secret.source_secret,
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
