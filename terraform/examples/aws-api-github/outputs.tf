output "region" {
  description = "Region of the deployment (the `--region` of signed requests)."
  value       = module.github.region
}

output "function_url" {
  description = "The proxy's base URL: append a GitHub REST API path, sign with SigV4 (service `lambda`)."
  value       = module.github.function_url
}

output "function_name" {
  description = "The Lambda function."
  value       = module.github.function_name
}

output "caller_role_arn" {
  description = "Role allowed to call the function URL (null without caller_aws_principals or caller_google_service_account_ids); give it to the vendor with the URL and region."
  value       = module.github.caller_role_arn
}

output "access_token_parameter" {
  description = "SSM parameter to put the GitHub token in."
  value       = module.github.secret_parameter_names["ACCESS_TOKEN"]
}

output "log_group" {
  description = "The function's CloudWatch log group."
  value       = module.github.log_group
}

output "salt_parameter_name" {
  description = "SSM parameter holding the salt."
  value       = module.github.salt_parameter_name
}
