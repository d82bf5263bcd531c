output "collector_url" {
  description = "Where tools POST their webhooks (JSON or NDJSON) with `Authorization: Bearer <JWT>`."
  value       = aws_lambda_function_url.webhook.function_url
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.webhook.function_name
}

output "auth_key_arn" {
  description = "The provisioned signing key (null without provision_auth_key): the token issuer signs with kms:Sign on it."
  value       = var.provision_auth_key ? aws_kms_key.auth[0].arn : null
}

output "queue_url" {
  description = "The queue of sanitized webhooks waiting to be batched."
  value       = aws_sqs_queue.webhooks.url
}

output "dead_letter_queue_url" {
  description = "Where webhooks that could not be merged wait (14 days)."
  value       = aws_sqs_queue.dead_letters.url
}

output "sanitized_bucket" {
  description = "The bucket the batches are written to."
  value       = local.bucket_name
}

output "batch_prefix" {
  description = "Key prefix of the batches (`<prefix><sha256>.ndjson.gz`)."
  value       = local.output_prefix
}

output "log_group" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.function.name
}

output "salt_parameter_name" {
  description = "SSM parameter holding the salt, or with secrets_store = \"aws_secrets_manager\" the secret (the CLI and the other modes need the same salt to produce the same pseudonyms)."
  value       = local.use_ssm ? aws_ssm_parameter.salt[0].name : aws_secretsmanager_secret.setting["PSOXY_SALT"].name
}
