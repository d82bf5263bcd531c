# Logs with retention, and alarms so that no failure goes unnoticed.

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

locals {
  alarms = { for name, alarm in {
    # Any failed invocation (a bad row, a missing column, a storage error), before retries.
    errors = {
      description = "The psoxy function ${local.function_name} failed to sanitize an object; its log group names the object, the row and the cause."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.bulk.function_name }
      statistic   = "Sum"
    }
    # An event that failed every retry: the object was not sanitized and needs attention.
    failed-events = {
      description = "An upload to s3://${local.input_bucket_name} was not sanitized after every retry; the event is in the queue ${aws_sqs_queue.failures.name}."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.failures.name }
      statistic   = "Maximum"
    }
    # A fan-out run that failed (only with fanout_enabled): the large object was not sanitized.
    fanout-failed = {
      description = "A fan-out run of ${local.fanout_name} failed: an object of at least ${var.fanout_threshold_bytes} bytes was not sanitized; the chunk function's log group names the object, the chunk and the cause."
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      dimensions  = { StateMachineArn = local.fanout_state_machine_arn }
      statistic   = "Sum"
    }
  } : name => alarm if name != "fanout-failed" || var.fanout_enabled }
}

# Each alarm fires on any value above 0 in 5 minutes.
resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${local.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
