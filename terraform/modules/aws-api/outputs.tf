output "region" {
  description = "Region the function was deployed to (the `--region` of signed requests)."
  value       = local.region
}

output "function_url" {
  description = "The proxy's base URL (ends with `/`): append the source API's path and query, sign with SigV4, service `lambda`."
  value       = aws_lambda_function_url.api.function_url
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.api.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function (the resource of a caller's lambda:InvokeFunctionUrl and lambda:InvokeFunction grants)."
  value       = aws_lambda_function.api.arn
}

output "caller_role_arn" {
  description = "Role allowed to call the function URL (null when caller_trust_principal is not set)."
  value       = local.create_caller_role ? aws_iam_role.caller[0].arn : null
}

output "log_group" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.function.name
}

output "ssm_parameter_prefix" {
  description = "Prefix of the function's SSM parameters, or Secrets Manager secrets (`PATH_TO_INSTANCE_CONFIG`)."
  value       = local.param_prefix
}

output "salt_parameter_name" {
  description = "SSM parameter holding the salt, or with secrets_store = \"aws_secrets_manager\" the secret (the CLI needs the same salt to produce the same pseudonyms)."
  value       = local.use_ssm ? aws_ssm_parameter.salt[0].name : aws_secretsmanager_secret.setting["PSOXY_SALT"].name
}

output "secret_parameter_names" {
  description = "SSM parameters to fill with the source's credentials (`aws ssm put-parameter --overwrite --type SecureString --name ...`), or with secrets_store = \"aws_secrets_manager\" the secrets (`aws secretsmanager put-secret-value --secret-id ... --secret-string ...`), by setting (with a shared token also ACCESS_TOKEN, which the function fills itself)."
  value = merge(
    { for name, parameter in aws_ssm_parameter.source_secret : name => parameter.name },
    { for name, secret in aws_secretsmanager_secret.source_secret : name => secret.name },
  )
}

output "cognito_identity_pool_id" {
  description = "With grant_type workload_identity_federation (else null): the Cognito identity pool whose developer identity authenticates the function to Entra ID. Once, to learn the identity id for the Entra app's federated credential, run `aws cognito-identity get-open-id-token-for-developer-identity --identity-pool-id <this pool id> --logins <developer provider name, psoxy-<instance_id>>=<client_id>` (output cognito_identity_id_command) with credentials allowed to call it: the IdentityId it returns is the credential's subject; its issuer is https://cognito-identity.amazonaws.com and its audience this pool id."
  value       = local.workload_identity ? aws_cognito_identity_pool.workload_identity[0].id : null
}

output "cognito_identity_id_command" {
  description = "With grant_type workload_identity_federation (else null): the one-time command whose IdentityId is the subject of the Entra app's federated credential (see cognito_identity_pool_id)."
  value = (
    local.workload_identity ? "aws cognito-identity get-open-id-token-for-developer-identity --region ${local.region} --identity-pool-id ${aws_cognito_identity_pool.workload_identity[0].id} --logins ${local.developer_provider_name}=${local.client_id_label} --query IdentityId --output text"
    : null
  )
}
