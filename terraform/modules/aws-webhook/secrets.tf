# The salt lives in SSM Parameter Store under local.param_prefix, where the function reads what
# the environment does not set (PATH_TO_INSTANCE_CONFIG). It is generated (or given) here and
# kept in the Terraform state: protect the state like the salt. Rules too large for the
# environment are the parameter RULES.

resource "random_password" "salt" {
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

locals {
  rules_text = var.rules_file != null ? file(var.rules_file) : coalesce(var.rules, " ")
  rules_sha  = sha256(local.rules_text)
  # As in the API module: small rules as written, larger ones gzipped in base64, and those over
  # 3 KB even so in the SSM parameter RULES.
  rules_bytes   = length(base64encode(local.rules_text)) / 4 * 3
  rules_value   = local.rules_bytes <= 2048 ? local.rules_text : base64gzip(local.rules_text)
  rules_in_env  = length(local.rules_value) <= 3072
  rules_ssm_big = length(local.rules_value) > 4096
}

resource "aws_ssm_parameter" "rules" {
  #checkov:skip=CKV2_AWS_34:The rules name fields and transforms only; they hold no secret, so a plain String keeps them readable in the console.
  count = local.rules_in_env ? 0 : 1

  name        = "${local.param_prefix}RULES"
  description = "Webhook rules of ${local.function_name}${var.rules_file != null ? " (from ${basename(var.rules_file)})" : ""}."
  type        = "String"
  tier        = local.rules_ssm_big ? "Advanced" : "Standard"
  value       = local.rules_value
  tags        = local.tags
}
