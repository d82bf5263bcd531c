# The function (custom runtime, arm64), what triggers it, and where its failures go.

locals {
  # The settings of the bulk function, which the fan-out's chunk function (fanout.tf) shares:
  # one binary, one set of settings.
  function_environment = merge(
    {
      PATH_TO_INSTANCE_CONFIG = local.param_prefix
      OUTPUT_BUCKET           = local.sanitized_bucket_name
      COMPRESS_OUTPUT_ALWAYS  = tostring(var.compress_output)
      RUST_LOG                = var.log_level
      # Settings are read once per process; a new value here starts fresh instances, so a
      # rules change (or one of additional_transforms) takes effect on the next upload.
      PSOXY_RULES_SHA256 = local.settings_sha
    },
    # With Secrets Manager, the function reads its secret and large settings there.
    local.use_secrets_manager ? { SECRETS_STORE = "AWS_SECRETS_MANAGER" } : {},
    # Only the optional settings that are set (their defaults are the binary's).
    { for name, value in {
      INPUT_BASE_PATH    = var.input_base_path
      OUTPUT_BASE_PATH   = var.output_base_path
      BULK_OUTPUT_FORMAT = var.bulk_output_format
    } : name => value if value != null && value != "" },
    # The fan-out, only when enabled: objects of at least FANOUT_THRESHOLD_BYTES are handed to
    # the state machine, which sanitizes them in ranges of about FANOUT_CHUNK_BYTES.
    { for name, value in {
      FANOUT_STATE_MACHINE_ARN = local.fanout_state_machine_arn
      FANOUT_WORK_BUCKET       = local.fanout_work_bucket
      FANOUT_THRESHOLD_BYTES   = tostring(var.fanout_threshold_bytes)
      FANOUT_CHUNK_BYTES       = tostring(var.fanout_chunk_bytes)
    } : name => value if var.fanout_enabled },
    var.extra_environment,
  )
}

resource "aws_lambda_function" "bulk" {
  #checkov:skip=CKV_AWS_117:VPC placement is optional (vpc_config): the function talks only to AWS APIs over TLS with IAM auth, so a VPC adds endpoints or NAT for no protection of this data flow.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the customer's account; the package's SHA-256 is pinned by source_code_hash instead.
  #checkov:skip=CKV_AWS_116:Failed events go to an on-failure destination (aws_lambda_function_event_invoke_config.bulk), which records the error with the event; a DLQ would only duplicate it.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not instrumented in the binary; timings are in the structured logs.
  function_name = local.function_name
  description   = "psoxy bulk sanitizer for ${var.instance_id}: s3://${local.input_bucket_name} -> s3://${local.sanitized_bucket_name}"
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

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  environment {
    variables = local.function_environment
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
      condition     = var.existing_input_bucket_name == null || var.input_bucket_name == null
      error_message = "Give input_bucket_name (a bucket made here) or existing_input_bucket_name (one that exists), not both."
    }
    precondition {
      condition     = var.existing_sanitized_bucket_name == null || var.sanitized_bucket_name == null
      error_message = "Give sanitized_bucket_name (a bucket made here) or existing_sanitized_bucket_name (one that exists), not both."
    }
    precondition {
      # One existing bucket for both: the outputs must not land where they trigger the function.
      condition = (
        var.existing_input_bucket_name == null || var.existing_input_bucket_name != var.existing_sanitized_bucket_name
        || (var.input_base_path != "" && !startswith(var.output_base_path, var.input_base_path))
      )
      error_message = "The input and sanitized buckets are the same bucket: set input_base_path, and an output_base_path outside it."
    }
    precondition {
      condition     = !local.has_additional_transforms || !contains(keys(var.extra_environment), "ADDITIONAL_TRANSFORMS")
      error_message = "Give additional_transforms or ADDITIONAL_TRANSFORMS in extra_environment, not both."
    }
    precondition {
      # An SSM parameter holds at most 8 KB (advanced tier); a secret 64 KB.
      condition     = !local.has_additional_transforms || local.use_secrets_manager || local.additional_transforms_bytes <= 8192
      error_message = "additional_transforms is over 8 KB even with its rules gzipped, more than an SSM parameter holds: use secrets_store = \"aws_secrets_manager\", or fewer or smaller rules."
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    module.vpc_access,
    aws_ssm_parameter.salt,
    aws_ssm_parameter.rules,
    aws_ssm_parameter.additional_transforms,
    aws_secretsmanager_secret_version.setting,
  ]
}

# Retries and a destination for events that still fail: nothing is dropped silently.
resource "aws_lambda_function_event_invoke_config" "bulk" {
  function_name                = aws_lambda_function.bulk.function_name
  maximum_retry_attempts       = var.async_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}

resource "aws_sqs_queue" "failures" {
  name                      = "${local.function_name}-failures"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps
  sqs_managed_sse_enabled   = local.use_kms ? null : true
  kms_master_key_id         = var.kms_key_arn
  tags                      = local.tags
}

resource "aws_lambda_permission" "input_bucket" {
  statement_id   = "AllowInvokeFromInputBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.bulk.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = local.input_bucket_arn
  source_account = local.account_id
}

# The bucket's notification configuration is one resource for the whole bucket: on an existing
# bucket that notifies anything else, set manage_input_bucket_notification = false and add the
# function (output function_arn) to its configuration where that is managed.
resource "aws_s3_bucket_notification" "input" {
  count = var.manage_input_bucket_notification ? 1 : 0

  bucket = local.input_bucket_name

  lambda_function {
    lambda_function_arn = aws_lambda_function.bulk.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = var.input_base_path == "" ? null : var.input_base_path
    filter_suffix       = var.input_suffix == "" ? null : var.input_suffix
  }

  depends_on = [aws_lambda_permission.input_bucket]
}

moved {
  from = aws_s3_bucket_notification.input
  to   = aws_s3_bucket_notification.input[0]
}
