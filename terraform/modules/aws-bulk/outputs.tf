output "region" {
  description = "Region everything was deployed to."
  value       = local.region
}

output "input_bucket" {
  description = "Bucket to upload exports to (under `input_base_path`)."
  value       = local.input_bucket_name
}

output "sanitized_bucket" {
  description = "Bucket the sanitized objects appear in, same key (with `output_base_path`)."
  value       = local.sanitized_bucket_name
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.bulk.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.bulk.arn
}

output "log_group" {
  description = "CloudWatch log group of the function (one JSON line per event; errors name the object, row and column)."
  value       = aws_cloudwatch_log_group.function.name
}

output "failure_queue_url" {
  description = "SQS queue holding events that failed every retry."
  value       = aws_sqs_queue.failures.url
}

output "reader_role_arn" {
  description = "Role the analytics vendor assumes to read the sanitized bucket (null when no reader principal was given)."
  value       = local.create_reader ? aws_iam_role.reader[0].arn : null
}

output "ssm_parameter_prefix" {
  description = "Prefix of the function's SSM parameters (PSOXY_SALT, PSOXY_ENCRYPTION_KEY, RULES, ADDITIONAL_TRANSFORMS), or of its Secrets Manager secrets with secrets_store = \"aws_secrets_manager\"."
  value       = local.param_prefix
}

output "salt_parameter_name" {
  description = "SSM parameter holding the salt (`aws ssm get-parameter --with-decryption --name ...`), or with secrets_store = \"aws_secrets_manager\" the secret (`aws secretsmanager get-secret-value --secret-id ...`); the CLI needs the same salt to produce the same pseudonyms."
  value       = local.use_ssm ? aws_ssm_parameter.salt[0].name : aws_secretsmanager_secret.setting["PSOXY_SALT"].name
}

output "fanout_state_machine_arn" {
  description = "ARN of the fan-out state machine (null when `fanout_enabled` is false)."
  value       = var.fanout_enabled ? aws_sfn_state_machine.fanout[0].arn : null
}

output "fanout_work_bucket" {
  description = "Bucket holding the plans and parts of fan-out runs, under `fanout/` (null when `fanout_enabled` is false)."
  value       = local.fanout_work_bucket
}

output "fanout_chunk_function_name" {
  description = "Name of the fan-out's chunk function (null when `fanout_enabled` is false)."
  value       = var.fanout_enabled ? aws_lambda_function.chunk[0].function_name : null
}
