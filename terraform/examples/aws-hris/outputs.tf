output "region" {
  description = "Region of the deployment."
  value       = module.hris.region
}

output "input_bucket" {
  description = "Upload HRIS exports here, under hris/."
  value       = module.hris.input_bucket
}

output "sanitized_bucket" {
  description = "Sanitized exports appear here under the same key."
  value       = module.hris.sanitized_bucket
}

output "reader_role_arn" {
  description = "Role the analytics vendor assumes to read the sanitized bucket; give it to the vendor with the bucket name and region."
  value       = module.hris.reader_role_arn
}

output "function_name" {
  description = "The Lambda function."
  value       = module.hris.function_name
}

output "log_group" {
  description = "The function's CloudWatch log group."
  value       = module.hris.log_group
}

output "failure_queue_url" {
  description = "Events that failed every retry."
  value       = module.hris.failure_queue_url
}

output "salt_parameter_name" {
  description = "SSM parameter holding the salt (for the CLI, to produce the same pseudonyms)."
  value       = module.hris.salt_parameter_name
}
