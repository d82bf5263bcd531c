# Asynchronous requests (enable_async_processing): an accepted `Prefer: respond-async` request is
# queued on SQS; the same function, triggered by the queue, runs it again and writes the
# sanitized answer (gzip), or `<id>.error.json` naming the status and error code, to the async
# bucket under yyyyMMdd/<id>. A request whose outcome cannot be written returns to the queue,
# then stays in the dead-letter queue. The async bucket has the guard rails of every psoxy output
# bucket (modules/aws-private-bucket), or is an existing one (existing_async_output_destination,
# `s3://bucket/prefix`, managed by its owner). Side outputs (side_output_sanitized) go to a bucket
# the customer names.

locals {
  async_enabled = var.enable_async_processing
  # The answers' bucket and key prefix: made here, or existing.
  create_async_bucket   = local.async_enabled && var.existing_async_output_destination == null
  existing_async_bucket = var.existing_async_output_destination == null ? null : split("/", trimprefix(var.existing_async_output_destination, "s3://"))[0]
  existing_async_prefix = var.existing_async_output_destination == null ? null : trimsuffix(join("/", slice(split("/", trimprefix(var.existing_async_output_destination, "s3://")), 1, length(split("/", trimprefix(var.existing_async_output_destination, "s3://"))))), "/")
  async_output_destination = (
    !local.async_enabled ? null
    : local.create_async_bucket ? "s3://${module.async_bucket[0].id}"
    : "s3://${local.existing_async_bucket}${local.existing_async_prefix == "" ? "" : "/${local.existing_async_prefix}"}"
  )
  # The bucket and key prefix of SIDE_OUTPUT_SANITIZED.
  side_output_bucket = var.side_output_sanitized == null ? null : split("/", trimprefix(var.side_output_sanitized, "s3://"))[0]
  side_output_prefix = var.side_output_sanitized == null ? null : trimsuffix(join("/", slice(split("/", trimprefix(var.side_output_sanitized, "s3://")), 1, length(split("/", trimprefix(var.side_output_sanitized, "s3://"))))), "/")
  # What the function may write: the async bucket (or the existing one's prefix), the side
  # output's prefix.
  written_object_arns = concat(
    [for b in module.async_bucket : "${b.arn}/*"],
    local.async_enabled && local.existing_async_bucket != null ? [
      "arn:${local.partition}:s3:::${local.existing_async_bucket}/${local.existing_async_prefix == "" ? "" : "${local.existing_async_prefix}/"}*"
    ] : [],
    local.side_output_bucket == null ? [] : [
      "arn:${local.partition}:s3:::${local.side_output_bucket}/${local.side_output_prefix == "" ? "" : "${local.side_output_prefix}/"}*"
    ],
  )
  writes_objects = length(local.written_object_arns) > 0
}

resource "aws_sqs_queue" "async_dead_letters" {
  count = local.async_enabled ? 1 : 0

  name                              = "${local.function_name}-async-dead-letters"
  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  tags                              = local.tags
}

resource "aws_sqs_queue" "async" {
  count = local.async_enabled ? 1 : 0

  name                              = "${local.function_name}-async"
  visibility_timeout_seconds        = max(6 * var.timeout_seconds, 30)
  message_retention_seconds         = 345600
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.async_dead_letters[0].arn
    maxReceiveCount     = 3
  })
  tags = local.tags
}

resource "aws_lambda_event_source_mapping" "async" {
  count = local.async_enabled ? 1 : 0

  event_source_arn        = aws_sqs_queue.async[0].arn
  function_name           = aws_lambda_function.api.arn
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  depends_on = [aws_iam_role_policy.function]
}

module "async_bucket" {
  source = "../aws-private-bucket"
  count  = local.create_async_bucket ? 1 : 0

  name_prefix           = "psoxy-${var.instance_id}-async-"
  kms_key_arn           = var.kms_key_arn
  expiration_days       = var.async_output_expiration_days
  reader_principal_arns = var.async_reader_principal_arns
  tags                  = merge(local.tags, { "psoxy-bucket" = "async" })
}
