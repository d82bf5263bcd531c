output "region" {
  description = "Region of the deployment (the `--region` of signed requests)."
  value       = module.zoom.region
}

output "function_url" {
  description = "The proxy's base URL: append a Zoom API path (e.g. `v2/users`), sign with SigV4 (service `lambda`)."
  value       = module.zoom.function_url
}

output "function_name" {
  description = "The Lambda function."
  value       = module.zoom.function_name
}

output "caller_role_arn" {
  description = "Role allowed to call the function URL (null without caller_aws_principals or caller_google_service_account_ids); give it to the vendor with the URL and region."
  value       = module.zoom.caller_role_arn
}

output "account_id_parameter" {
  description = "SSM parameter to put the Zoom account id in."
  value       = module.zoom.secret_parameter_names["ACCOUNT_ID"]
}

output "client_secret_parameter" {
  description = "SSM parameter to put the Zoom app's client secret in."
  value       = module.zoom.secret_parameter_names["CLIENT_SECRET"]
}

output "shared_token_parameter" {
  description = "SSM parameter where the function keeps the shared access token (written by the function; never set it by hand)."
  value       = module.zoom.secret_parameter_names["ACCESS_TOKEN"]
}

output "log_group" {
  description = "The function's CloudWatch log group."
  value       = module.zoom.log_group
}

output "salt_parameter_name" {
  description = "SSM parameter holding the salt."
  value       = module.zoom.salt_parameter_name
}
