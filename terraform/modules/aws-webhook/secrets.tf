# The salt lives under local.param_prefix, where the function reads what the environment does
# not set (PATH_TO_INSTANCE_CONFIG): an SSM parameter by default, or, with secrets_store =
# "aws_secrets_manager", a Secrets Manager secret of the same name, never both. It is generated
# (or given) here and kept in the Terraform state: protect the state like the salt. Rules too
# large for the environment are the parameter (or secret) RULES.

resource "random_password" "salt" {
  length  = 32
  special = false
}

locals {
  salt_value = var.salt != null ? var.salt : random_password.salt.result
}

resource "aws_ssm_parameter" "salt" {
  count = local.use_ssm ? 1 : 0

  name        = "${local.param_prefix}PSOXY_SALT"
  description = "Salt of every pseudonym made by ${local.function_name}. Changing it changes every pseudonym."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = local.salt_value
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
  count = local.use_ssm && !local.rules_in_env ? 1 : 0

  name        = "${local.param_prefix}RULES"
  description = "Webhook rules of ${local.function_name}${var.rules_file != null ? " (from ${basename(var.rules_file)})" : ""}."
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

# With secrets_store = "aws_secrets_manager": the same settings as secrets.
resource "aws_secretsmanager_secret" "setting" {
  #checkov:skip=CKV2_AWS_57:The salt may not rotate on a schedule (a new one changes every pseudonym already sent), and the rules are not secrets.
  #checkov:skip=CKV_AWS_149:The key is a variable (kms_key_arn, as for every other resource of the module); without one Secrets Manager's own aws/secretsmanager key encrypts the secrets.
  for_each = local.use_secrets_manager ? toset(concat(["PSOXY_SALT"], local.rules_in_env ? [] : ["RULES"])) : toset([])

  name        = "${local.param_prefix}${each.key}"
  description = "${each.key} of ${local.function_name}${each.key == "PSOXY_SALT" ? ". Changing it changes every pseudonym." : ""}"
  kms_key_id  = var.kms_key_arn
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "setting" {
  for_each = aws_secretsmanager_secret.setting

  secret_id     = each.value.id
  secret_string = each.key == "PSOXY_SALT" ? local.salt_value : local.rules_value
}
