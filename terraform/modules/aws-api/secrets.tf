# The function's secret settings live in SSM Parameter Store under local.param_prefix, where the
# function reads what the environment does not set (PATH_TO_INSTANCE_CONFIG). The salt and the
# encryption key are generated (or given) here, as in the bulk module, and kept in the Terraform
# state: protect the state like the secrets. The source's credentials are never known to
# Terraform: each parameter is created with a placeholder and filled out of band
# (`aws ssm put-parameter --overwrite`); Terraform then leaves its value alone.

resource "random_password" "salt" {
  length  = 32
  special = false
}

resource "random_password" "encryption_key" {
  count = var.generate_encryption_key ? 1 : 0

  length  = 32
  special = false
}

resource "aws_ssm_parameter" "salt" {
  name        = "${local.param_prefix}PSOXY_SALT"
  description = "Salt of every pseudonym made by ${local.function_name}. Changing it changes every pseudonym."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = var.salt != null ? var.salt : random_password.salt.result
  tags        = local.tags
}

resource "aws_ssm_parameter" "encryption_key" {
  # The key is secret, but whether one was given is not.
  count = var.generate_encryption_key || nonsensitive(var.encryption_key != null) ? 1 : 0

  name        = "${local.param_prefix}PSOXY_ENCRYPTION_KEY"
  description = "Key of the reversible tokens made by ${local.function_name}."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = var.encryption_key != null ? var.encryption_key : random_password.encryption_key[0].result
  tags        = local.tags
}

locals {
  # What a credential parameter holds until it is filled (SSM refuses an empty value); the
  # source refuses it, so nothing is served before the real credential is put.
  secret_placeholder = "PLACEHOLDER: fill with aws ssm put-parameter --overwrite"
}

# The source's credentials the chosen strategy needs (local.source_secret_settings), under the
# names the function reads (ours or Psoxy's); with a shared token also ACCESS_TOKEN, which the
# function overwrites with the current access token.
resource "aws_ssm_parameter" "source_secret" {
  for_each = local.source_secret_settings

  name = "${local.param_prefix}${each.key}"
  description = (
    local.use_shared_token && each.key == "ACCESS_TOKEN"
    ? "Access token shared by the instances of ${local.function_name} (${local.strategy_label}); written by the function, never set by hand."
    : "${each.key} of the source API called by ${local.function_name} (${local.strategy_label}); set out of band."
  )
  type   = "SecureString"
  key_id = var.kms_key_arn
  value  = local.secret_placeholder
  tags   = local.tags

  lifecycle {
    # Filled (and, for REFRESH_TOKEN and a shared ACCESS_TOKEN, written by the function)
    # outside Terraform.
    ignore_changes = [value]
  }
}

locals {
  rules_text = var.rules_file != null ? file(var.rules_file) : coalesce(var.rules, " ")
  rules_sha  = sha256(local.rules_text)
  # Lambda allows 4 KB of environment in all. Rules up to 2 KB go there as written, larger ones
  # as base64 of gzip (which the rules loader unwraps); if that is still over 3 KB they go to
  # the SSM parameter RULES instead (advanced tier beyond 4 KB).
  # (UTF-8 bytes, from the base64 length: length() counts characters.)
  rules_bytes   = length(base64encode(local.rules_text)) / 4 * 3
  rules_value   = local.rules_bytes <= 2048 ? local.rules_text : base64gzip(local.rules_text)
  rules_in_env  = length(local.rules_value) <= 3072
  rules_ssm_big = length(local.rules_value) > 4096
}

resource "aws_ssm_parameter" "rules" {
  #checkov:skip=CKV2_AWS_34:The rules name endpoints, fields and transforms only; they hold no secret, so a plain String keeps them readable in the console.
  count = local.rules_in_env ? 0 : 1

  name        = "${local.param_prefix}RULES"
  description = "API rules of ${local.function_name}${var.rules_file != null ? " (from ${basename(var.rules_file)})" : ""}."
  type        = "String"
  tier        = local.rules_ssm_big ? "Advanced" : "Standard"
  value       = local.rules_value
  tags        = local.tags
}
