# The function (custom runtime, arm64) and its URL. The URL has no IAM auth: webhooks come from
# tools that cannot sign AWS requests, so every request must instead carry a bearer JWT signed by
# an accepted key, which the function verifies before it reads the payload.

locals {
  environment = merge(
    {
      PATH_TO_INSTANCE_CONFIG = local.param_prefix
      PSOXY_INSTANCE_ID       = var.instance_id
      RUST_LOG                = var.log_level
      WEBHOOK_OUTPUT          = aws_sqs_queue.webhooks.url
      WEBHOOK_BATCH_OUTPUT    = "s3://${local.bucket_name}/${local.output_prefix}"
      ACCEPTED_AUTH_KEYS      = join(",", local.accepted_auth_keys)
      ALLOW_ORIGINS           = join(",", var.allow_origins)
    },
    # With Secrets Manager, the function reads its salt (and large rules) there.
    local.use_secrets_manager ? { SECRETS_STORE = "AWS_SECRETS_MANAGER" } : {},
    { for name, value in {
      RULES              = local.rules_value
      PSOXY_RULES_SHA256 = local.rules_sha
    } : name => value if(name == "RULES") == local.rules_in_env },
    { for name, value in {
      AUTH_ISSUER                   = var.auth_issuer
      AUTH_AUDIENCE                 = var.auth_audience
      ALLOWED_DATA_ACCESS_IP_BLOCKS = join(",", var.allowed_ip_blocks)
    } : name => value if value != null && value != "" },
  )
}

resource "aws_lambda_function" "webhook" {
  #checkov:skip=CKV_AWS_117:VPC placement is optional (vpc_config): the function calls AWS APIs only (SQS, S3, KMS, SSM), over TLS, so a VPC adds endpoints for no protection of this data flow.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the customer's account; the package's SHA-256 is pinned by source_code_hash instead.
  #checkov:skip=CKV_AWS_116:Webhooks are answered synchronously (a refused one gets its status); batches come from SQS, whose own dead-letter queue keeps failed messages.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not instrumented in the binary; timings are in the structured logs.
  function_name = local.function_name
  description   = "psoxy webhook collector ${var.instance_id}: verifies, sanitizes and queues webhooks; merges batches into ${local.bucket_name}"
  role          = aws_iam_role.function.arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]

  filename         = var.lambda_zip_path
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
      condition     = length(local.accepted_auth_keys) > 0
      error_message = "No key to verify tokens with: keep provision_auth_key or give accepted_auth_keys."
    }
    precondition {
      condition     = var.batch_size <= 10 || var.batch_window_seconds >= 1
      error_message = "A batch_size over 10 needs batch_window_seconds of at least 1 (an SQS trigger rule)."
    }
    precondition {
      condition     = length(jsonencode(local.environment)) <= 4096
      error_message = "The function's environment is over 4 KB: give fewer or shorter accepted_auth_keys, or smaller rules."
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    module.vpc_access,
    aws_ssm_parameter.salt,
    aws_ssm_parameter.rules,
    aws_secretsmanager_secret_version.setting,
  ]
}

resource "aws_lambda_function_url" "webhook" {
  #checkov:skip=CKV_AWS_258:Webhook senders cannot sign AWS requests; each request must carry a JWT signed by an accepted key, which the function verifies before reading the payload (401 otherwise).
  function_name      = aws_lambda_function.webhook.function_name
  authorization_type = "NONE"
  invoke_mode        = "BUFFERED"
}

# Anyone may reach the URL (the token is the check) ...
resource "aws_lambda_permission" "invoke_url" {
  #checkov:skip=CKV_AWS_301:A webhook collector is reached by tools that cannot sign AWS requests; each request must carry a JWT signed by an accepted key (verified before the payload is read).
  statement_id           = "InvokeFunctionUrlWithToken"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.webhook.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# ... and, as function URLs created since October 2025 also require, invoke the function, but
# only through its URL.
resource "aws_lambda_permission" "invoke_via_url" {
  #checkov:skip=CKV_AWS_301:Only through the function URL (invoked_via_function_url), where every request needs a verified JWT.
  statement_id             = "InvokeFunctionViaUrl"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.webhook.function_name
  principal                = "*"
  invoked_via_function_url = true
}
