# The function's secret settings live under local.param_prefix, where the function reads what
# the environment does not set (PATH_TO_INSTANCE_CONFIG): SSM Parameter Store parameters by
# default, or, with secrets_store = "aws_secrets_manager", Secrets Manager secrets of the same
# names, never both. The salt and the encryption key are generated (or given) here, as in the
# bulk module, and kept in the Terraform state: protect the state like the secrets. The source's
# credentials are never known to Terraform: each parameter is created with a placeholder and
# filled out of band (`aws ssm put-parameter --overwrite`); Terraform then leaves its value
# alone. Each secret is created empty (no version) and filled out of band
# (`aws secretsmanager put-secret-value`): a version made by Terraform would be dropped by
# Secrets Manager after 100 newer ones (refreshed tokens), and Terraform would then put its
# placeholder back.

resource "random_password" "salt" {
  length  = 32
  special = false
}

resource "random_password" "encryption_key" {
  count = var.generate_encryption_key ? 1 : 0

  length  = 32
  special = false
}

locals {
  salt_value = var.salt != null ? var.salt : random_password.salt.result
  # The key is secret, but whether one was given is not.
  stores_encryption_key = var.generate_encryption_key || nonsensitive(var.encryption_key != null)
  encryption_key_value  = var.encryption_key != null ? var.encryption_key : try(random_password.encryption_key[0].result, null)
}

# ---------------------------------------------------------------------------------------------
# SSM Parameter Store (secrets_store = "aws_ssm_parameter_store", the default)
# ---------------------------------------------------------------------------------------------

resource "aws_ssm_parameter" "salt" {
  count = local.use_ssm ? 1 : 0

  name        = "${local.param_prefix}PSOXY_SALT"
  description = "Salt of every pseudonym made by ${local.function_name}. Changing it changes every pseudonym."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = local.salt_value
  tags        = local.tags
}

resource "aws_ssm_parameter" "encryption_key" {
  count = local.use_ssm && local.stores_encryption_key ? 1 : 0

  name        = "${local.param_prefix}PSOXY_ENCRYPTION_KEY"
  description = "Key of the reversible tokens made by ${local.function_name}."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = local.encryption_key_value
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
  for_each = local.use_ssm ? local.source_secret_settings : toset([])

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
  count = local.use_ssm && !local.rules_in_env ? 1 : 0

  name        = "${local.param_prefix}RULES"
  description = "API rules of ${local.function_name}${var.rules_file != null ? " (from ${basename(var.rules_file)})" : ""}."
  type        = "String"
  tier        = local.rules_ssm_big ? "Advanced" : "Standard"
  value       = local.rules_value
  tags        = local.tags
}

# The salt parameter was a single resource before secrets_store existed.
moved {
  from = aws_ssm_parameter.salt
  to   = aws_ssm_parameter.salt[0]
}

# ---------------------------------------------------------------------------------------------
# Secrets Manager (secrets_store = "aws_secrets_manager")
# ---------------------------------------------------------------------------------------------

# What Terraform writes: the salt, the encryption key, rules too large for the environment.
resource "aws_secretsmanager_secret" "setting" {
  #checkov:skip=CKV2_AWS_57:Nothing here may rotate on a schedule: a new salt or encryption key changes every pseudonym and token already sent, and the rules are not secrets.
  #checkov:skip=CKV_AWS_149:The key is a variable (kms_key_arn, as for every other resource of the module); without one Secrets Manager's own aws/secretsmanager key encrypts the secrets.
  for_each = local.use_secrets_manager ? toset(concat(
    ["PSOXY_SALT"],
    local.stores_encryption_key ? ["PSOXY_ENCRYPTION_KEY"] : [],
    local.rules_in_env ? [] : ["RULES"],
  )) : toset([])

  name        = "${local.param_prefix}${each.key}"
  description = "${each.key} of ${local.function_name}${each.key == "PSOXY_SALT" ? ". Changing it changes every pseudonym." : ""}"
  kms_key_id  = var.kms_key_arn
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "setting" {
  for_each = aws_secretsmanager_secret.setting

  secret_id = each.value.id
  secret_string = (
    each.key == "PSOXY_SALT" ? local.salt_value
    : each.key == "PSOXY_ENCRYPTION_KEY" ? local.encryption_key_value
    : local.rules_value
  )
}

# The source's credentials the chosen strategy needs, as the parameters above: created empty,
# filled out of band (`aws secretsmanager put-secret-value --secret-id <name> --secret-string
# ...`); until then the function reads them as unset. A shared ACCESS_TOKEN and a rotated
# REFRESH_TOKEN are written by the function (PutSecretValue).
resource "aws_secretsmanager_secret" "source_secret" {
  #checkov:skip=CKV2_AWS_57:The source's credentials are rotated at the source, and the function itself writes the refreshed tokens; a rotation Lambda has nothing to rotate.
  #checkov:skip=CKV_AWS_149:The key is a variable (kms_key_arn, as for every other resource of the module); without one Secrets Manager's own aws/secretsmanager key encrypts the secrets.
  for_each = local.use_secrets_manager ? local.source_secret_settings : toset([])

  name = "${local.param_prefix}${each.key}"
  description = (
    local.use_shared_token && each.key == "ACCESS_TOKEN"
    ? "Access token shared by the instances of ${local.function_name} (${local.strategy_label}); written by the function, never set by hand."
    : "${each.key} of the source API called by ${local.function_name} (${local.strategy_label}); set out of band."
  )
  kms_key_id = var.kms_key_arn
  tags       = local.tags
}
