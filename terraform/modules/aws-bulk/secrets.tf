# The function's settings that are secret or large live under local.param_prefix, where the
# function reads them at start-up (PATH_TO_INSTANCE_CONFIG): SSM Parameter Store parameters by
# default, or, with secrets_store = "aws_secrets_manager", Secrets Manager secrets of the same
# names (`/psoxy/<instance_id>/PSOXY_SALT`, ...), never both.
# The generated values are kept in the Terraform state: protect the state like the secrets.

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
  rules_text = file(var.rules_file)
  # Rules are stored as written when they fit a standard parameter (4 KB), otherwise as
  # base64 of gzip, which the function's loader also reads; advanced tier (8 KB) beyond that.
  # (UTF-8 bytes, from the base64 length: length() counts characters.)
  rules_bytes = length(base64encode(local.rules_text)) / 4 * 3
  rules_value = local.rules_bytes <= 4096 ? local.rules_text : base64gzip(local.rules_text)
  rules_sha   = sha256(local.rules_text)
  # What restarts the function's instances when it changes (PSOXY_RULES_SHA256): the rules, and
  # the additional transforms when there are any.
  settings_sha = local.has_additional_transforms ? sha256("${local.rules_text}\n${local.additional_transforms_value}") : local.rules_sha
}

resource "aws_ssm_parameter" "rules" {
  #checkov:skip=CKV2_AWS_34:The rules name columns and paths only; they hold no secret, so a plain String keeps them readable in the console.
  count = local.use_ssm ? 1 : 0

  name        = "${local.param_prefix}RULES"
  description = "Sanitizing rules of ${local.function_name} (from ${basename(var.rules_file)})."
  type        = "String"
  tier        = length(base64encode(local.rules_value)) / 4 * 3 > 4096 ? "Advanced" : "Standard"
  value       = local.rules_value
  tags        = local.tags
}

resource "aws_ssm_parameter" "additional_transforms" {
  #checkov:skip=CKV2_AWS_34:The additional outputs' buckets, paths and rules hold no secret, so a plain String keeps them readable in the console.
  count = local.use_ssm && local.has_additional_transforms ? 1 : 0

  name        = "${local.param_prefix}ADDITIONAL_TRANSFORMS"
  description = "Additional outputs of ${local.function_name}: destinations and their rules."
  type        = "String"
  tier        = local.additional_transforms_bytes > 4096 ? "Advanced" : "Standard"
  value       = local.additional_transforms_value
  tags        = local.tags
}

# The parameters were single resources before secrets_store existed: same objects, new addresses.
moved {
  from = aws_ssm_parameter.salt
  to   = aws_ssm_parameter.salt[0]
}

moved {
  from = aws_ssm_parameter.rules
  to   = aws_ssm_parameter.rules[0]
}

# ---------------------------------------------------------------------------------------------
# Secrets Manager (secrets_store = "aws_secrets_manager")
# ---------------------------------------------------------------------------------------------

locals {
  # The settings stored here, by the names the function reads.
  stored_settings = toset(concat(
    ["PSOXY_SALT", "RULES"],
    local.stores_encryption_key ? ["PSOXY_ENCRYPTION_KEY"] : [],
    local.has_additional_transforms ? ["ADDITIONAL_TRANSFORMS"] : [],
  ))
}

resource "aws_secretsmanager_secret" "setting" {
  #checkov:skip=CKV2_AWS_57:Nothing here may rotate on a schedule: a new salt or encryption key changes every pseudonym and token already sent, and the rules are not secrets.
  #checkov:skip=CKV_AWS_149:The key is a variable (kms_key_arn, as for every other resource of the module); without one Secrets Manager's own aws/secretsmanager key encrypts the secrets.
  for_each = local.use_secrets_manager ? local.stored_settings : toset([])

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
    : each.key == "RULES" ? local.rules_value
    : local.additional_transforms_value
  )
}
