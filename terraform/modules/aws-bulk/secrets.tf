# The function's settings that are secret or large live in SSM Parameter Store under
# local.param_prefix, where the function reads them at start-up (PATH_TO_INSTANCE_CONFIG).
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
  rules_text = file(var.rules_file)
  # Rules are stored as written when they fit a standard parameter (4 KB), otherwise as
  # base64 of gzip, which the function's loader also reads; advanced tier (8 KB) beyond that.
  # (UTF-8 bytes, from the base64 length: length() counts characters.)
  rules_bytes = length(base64encode(local.rules_text)) / 4 * 3
  rules_value = local.rules_bytes <= 4096 ? local.rules_text : base64gzip(local.rules_text)
  rules_sha   = sha256(local.rules_text)
}

resource "aws_ssm_parameter" "rules" {
  #checkov:skip=CKV2_AWS_34:The rules name columns and paths only; they hold no secret, so a plain String keeps them readable in the console.
  name        = "${local.param_prefix}RULES"
  description = "Sanitizing rules of ${local.function_name} (from ${basename(var.rules_file)})."
  type        = "String"
  tier        = length(base64encode(local.rules_value)) / 4 * 3 > 4096 ? "Advanced" : "Standard"
  value       = local.rules_value
  tags        = local.tags
}
