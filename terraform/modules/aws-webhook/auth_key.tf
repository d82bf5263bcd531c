# The signing key of the customer's token issuer: an asymmetric KMS key whose private half never
# leaves KMS. The issuer (a role listed in auth_key_signer_role_names) signs each webhook JWT's
# `header.claims` with kms:Sign (RSASSA_PKCS1_V1_5_SHA_256 for RS256, RSASSA_PSS_SHA_256 for
# PS256); the collector verifies with the public half (kms:GetPublicKey, cached 10 minutes).
# KMS does not rotate asymmetric keys: rotate by making a new key and keeping the old one in
# accepted_auth_keys until the tokens it signed expire.

resource "aws_kms_key" "auth" {
  #checkov:skip=CKV_AWS_7:Automatic rotation exists only for symmetric keys; an asymmetric signing key is rotated by replacing it (see above).
  #checkov:skip=CKV2_AWS_64:The key policy is the account's default; who may sign is granted by IAM (aws_iam_role_policy.signer) and who may read the public key by the function's role.
  count = var.provision_auth_key ? 1 : 0

  description              = "Signs the webhook tokens accepted by ${local.function_name}."
  key_usage                = "SIGN_VERIFY"
  customer_master_key_spec = var.auth_key_spec
  deletion_window_in_days  = 30
  tags                     = local.tags
}

resource "aws_kms_alias" "auth" {
  count = var.provision_auth_key ? 1 : 0

  name          = "alias/${local.function_name}-webhook-auth"
  target_key_id = aws_kms_key.auth[0].key_id
}

data "aws_iam_policy_document" "signer" {
  count = var.provision_auth_key ? 1 : 0

  statement {
    sid       = "SignWebhookTokens"
    actions   = ["kms:Sign", "kms:GetPublicKey"]
    resources = [aws_kms_key.auth[0].arn]
  }
}

resource "aws_iam_role_policy" "signer" {
  for_each = var.provision_auth_key ? toset(var.auth_key_signer_role_names) : toset([])

  name   = "${local.function_name}-sign-webhook-tokens"
  role   = each.value
  policy = data.aws_iam_policy_document.signer[0].json
}
