# Sanitized webhooks wait in the queue (only sanitized bytes are ever sent to it); the function,
# triggered by it, merges each batch into one object and reports the messages it could not
# merge (ReportBatchItemFailures), which return to the queue and, after max_receive_count
# deliveries, stay in the dead-letter queue for 14 days.

resource "aws_sqs_queue" "dead_letters" {
  name                              = "${local.function_name}-dead-letters"
  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  tags                              = local.tags
}

resource "aws_sqs_queue" "webhooks" {
  name = "${local.function_name}-to-batch"
  # AWS asks for at least six times the function's timeout plus the batching window, so a batch
  # being gathered and merged is not delivered again meanwhile.
  visibility_timeout_seconds        = 6 * var.timeout_seconds + var.batch_window_seconds
  message_retention_seconds         = 345600
  max_message_size                  = 262144
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = local.tags
}

resource "aws_lambda_event_source_mapping" "batches" {
  event_source_arn                   = aws_sqs_queue.webhooks.arn
  function_name                      = aws_lambda_function.webhook.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batch_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  depends_on = [aws_iam_role_policy.function]
}
