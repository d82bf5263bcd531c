# Logs with retention, and alarms so that no failure goes unnoticed.

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

locals {
  alarms = {
    # A request the function could not serve (settings, rules, a crash); the caller got an error.
    errors = {
      description = "The psoxy API function ${local.function_name} failed a request; its log group has the cause (never a value)."
      metric      = "Errors"
    }
    # A request refused because reserved_concurrency was reached; the caller got HTTP 429.
    throttles = {
      description = "The psoxy API function ${local.function_name} refused requests at its concurrency limit (HTTP 429 to the caller); raise reserved_concurrency or slow the caller."
      metric      = "Throttles"
    }
  }
}

# Each alarm fires on any value above 0 in 5 minutes.
resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${local.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.api.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
