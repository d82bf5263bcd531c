# The fan-out, only with var.fanout_enabled: an object of at least fanout_threshold_bytes is not
# sanitized by the bulk function alone. The bulk function starts an execution of the state
# machine, whose steps each invoke the chunk function (the same package, invoked only here):
#   Plan    splits the object into byte ranges and writes the plan (offsets only) to the work
#           bucket;
#   Chunks  a Distributed Map over the plan: each range is sanitized by its own invocation into
#           a part object in the work bucket (at most fanout_max_concurrency at once);
#   Join    copies the parts, in order, into one multipart upload to the sanitized bucket;
#   Abort   on any failure: aborts the upload, deletes the parts and the plan, logs the object,
#           the chunk and the cause; the execution then fails (alarm `psoxy-<id>-fanout-failed`).
# Payloads carry bucket names, keys and offsets, never data; the state machine logs errors
# without execution data.

locals {
  fanout_count = var.fanout_enabled ? 1 : 0

  chunk_function_name = "${local.function_name}-chunk"

  # Null when disabled (the unselected branch of a conditional is not an error).
  fanout_work_bucket = var.fanout_enabled ? aws_s3_bucket.this["work"].id : null
  # The objects of every run: `fanout/<run id>/...`.
  fanout_work_objects = var.fanout_enabled ? "${aws_s3_bucket.this["work"].arn}/${local.fanout_work_prefix}*" : null
  # A Distributed Map's child executions are `execution:<state machine>/<map run>:<id>`.
  fanout_child_executions = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.fanout_name}/*"
}

# ---------------------------------------------------------------------------------------------
# The chunk function
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function" "chunk" {
  #checkov:skip=CKV_AWS_117:VPC placement is optional (vpc_config): the function talks only to AWS APIs over TLS with IAM auth, so a VPC adds endpoints or NAT for no protection of this data flow.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the customer's account; the package's SHA-256 is pinned by source_code_hash instead.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machine only, whose retries and Catch (the Abort step) handle every failure; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not instrumented in the binary; timings are in the structured logs and the state machine's trace.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the state machine (fanout_max_concurrency chunks at once, plus one plan, join or abort call); nothing else may invoke it.
  count = local.fanout_count

  function_name = local.chunk_function_name
  description   = "psoxy fan-out worker for ${var.instance_id}: plans, sanitizes the byte ranges of and joins large objects of s3://${local.input_bucket_name}"
  role          = aws_iam_role.chunk[0].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]

  # The bulk function's package: the payload's `fanout` field selects the step.
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)

  memory_size = coalesce(var.fanout_worker_memory_mb, var.memory_mb)
  timeout     = var.fanout_worker_timeout_seconds
  kms_key_arn = var.kms_key_arn

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
    log_group  = aws_cloudwatch_log_group.chunk[0].name
  }

  tags = local.tags

  depends_on = [
    aws_iam_role_policy.chunk,
    module.vpc_access,
    aws_ssm_parameter.salt,
    aws_ssm_parameter.rules,
    aws_ssm_parameter.additional_transforms,
    aws_secretsmanager_secret_version.setting,
  ]
}

resource "aws_cloudwatch_log_group" "chunk" {
  count = local.fanout_count

  name              = "/aws/lambda/${local.chunk_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

# Its role: read the input, use the run's objects in the work bucket, write the sanitized
# object by multipart upload (UploadPartCopy reads the part from the work bucket with
# s3:GetObject and writes with s3:PutObject) and so each additional output, read the function's
# parameters (or secrets), write its logs.
resource "aws_iam_role" "chunk" {
  count = local.fanout_count

  name               = "${local.chunk_function_name}-function"
  description        = "Execution role of the psoxy fan-out chunk function ${local.chunk_function_name}."
  assume_role_policy = data.aws_iam_policy_document.function_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "chunk" {
  count = local.fanout_count

  statement {
    sid       = "ReadInput"
    actions   = ["s3:GetObject"]
    resources = ["${local.input_bucket_arn}/${var.input_base_path}*"]
  }

  statement {
    sid = "UseRunObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.fanout_work_objects]
  }

  statement {
    sid = "WriteSanitized"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
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
        "s3:ListMultipartUploadParts",
      ]
      resources = statement.value
    }
  }

  # As the bulk function's: its settings in SSM ...
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

  # ... or in Secrets Manager.
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
    resources = ["${aws_cloudwatch_log_group.chunk[0].arn}:*"]
  }

  # As the bulk function's: the SecureStrings (or secrets), SSE-KMS reads, and a data key per
  # object or part written.
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

  # ... and the additional outputs' own keys.
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

resource "aws_iam_role_policy" "chunk" {
  count = local.fanout_count

  name   = "least-privilege"
  role   = aws_iam_role.chunk[0].id
  policy = data.aws_iam_policy_document.chunk[0].json
}

# ---------------------------------------------------------------------------------------------
# The bulk function may start a run, nothing more
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "function_fanout" {
  count = local.fanout_count

  statement {
    sid       = "StartFanout"
    actions   = ["states:StartExecution"]
    resources = [local.fanout_state_machine_arn]
  }
}

resource "aws_iam_role_policy" "function_fanout" {
  count = local.fanout_count

  name   = "start-fanout"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function_fanout[0].json
}

# ---------------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------------

resource "aws_sfn_state_machine" "fanout" {
  #checkov:skip=CKV_AWS_285:Execution data (object keys, offsets, error causes) stays out of the logs on purpose: errors are logged, and the chunk function's own log names the object and the cause.
  count = local.fanout_count

  name     = local.fanout_name
  type     = "STANDARD"
  role_arn = aws_iam_role.fanout[0].arn
  definition = templatefile("${path.module}/fanout.asl.json", {
    chunk_function_arn = aws_lambda_function.chunk[0].arn
    max_concurrency    = var.fanout_max_concurrency
  })

  # Errors only, without the payloads (keys and offsets, but nothing needs them in the logs).
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.fanout[0].arn}:*"
    include_execution_data = false
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.fanout]
}

resource "aws_cloudwatch_log_group" "fanout" {
  count = local.fanout_count

  # Under /aws/vendedlogs/, as AWS advises for Step Functions: the log delivery's resource
  # policy then covers the prefix instead of growing with every log group.
  name              = "/aws/vendedlogs/states/${local.fanout_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

# Assumed by Step Functions for this state machine only (confused-deputy guard): the state
# machine itself and its Distributed Map runs (`stateMachine:<name>/<map run label>`).
data "aws_iam_policy_document" "fanout_trust" {
  count = local.fanout_count

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [
        local.fanout_state_machine_arn,
        "${local.fanout_state_machine_arn}/*",
      ]
    }
  }
}

resource "aws_iam_role" "fanout" {
  count = local.fanout_count

  name               = "${local.fanout_name}-states"
  description        = "Execution role of the psoxy fan-out state machine ${local.fanout_name}."
  assume_role_policy = data.aws_iam_policy_document.fanout_trust[0].json
  tags               = local.tags
}

# What AWS documents for a Distributed Map reading its items from S3 and invoking Lambda
# ("IAM policies for using Distributed Map states"), scoped to this state machine, its chunk
# function and the run objects of the work bucket; plus log delivery and X-Ray, whose actions
# take no resource ARN.
data "aws_iam_policy_document" "fanout" {
  count = local.fanout_count

  statement {
    sid     = "InvokeChunkFunction"
    actions = ["lambda:InvokeFunction"]
    resources = [
      aws_lambda_function.chunk[0].arn,
      "${aws_lambda_function.chunk[0].arn}:*",
    ]
  }

  # The Distributed Map runs its items as child executions of this state machine.
  statement {
    sid       = "StartMapRuns"
    actions   = ["states:StartExecution"]
    resources = [local.fanout_state_machine_arn]
  }

  statement {
    sid = "ManageMapRunChildren"
    actions = [
      "states:DescribeExecution",
      "states:StopExecution",
    ]
    resources = [local.fanout_child_executions]
  }

  # The ItemReader reads the plan.
  statement {
    sid       = "ReadPlans"
    actions   = ["s3:GetObject"]
    resources = [local.fanout_work_objects]
  }

  statement {
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid = "Tracing"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }

  # An SSE-KMS plan object is decrypted when read.
  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid       = "UseCustomerKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "fanout" {
  count = local.fanout_count

  name   = "least-privilege"
  role   = aws_iam_role.fanout[0].id
  policy = data.aws_iam_policy_document.fanout[0].json
}
