# The signing key of the customer's token issuer: a Cloud KMS asymmetric key whose private half
# never leaves KMS. The issuer (issuer_members, roles/cloudkms.signerVerifier on this key only)
# signs each webhook JWT's `header.claims` with the version var.signing_key_version (1, the one
# made with the key, by default; asymmetricSign: RS256 with RSA_SIGN_PKCS1_*_SHA256, PS256 with
# RSA_SIGN_PSS_*_SHA256); the collector verifies with that version's public half, which
# Terraform reads here and gives it in ACCEPTED_AUTH_KEYS (`base64:` and the
# SubjectPublicKeyInfo, DER, base64): the collector needs no KMS permission at all.
#
# KMS does not rotate asymmetric keys: rotate by adding a version (`gcloud kms keys versions
# create`), setting signing_key_version to it, keeping the old version's public key in
# accepted_auth_keys until the tokens it signed have expired, then destroying the old version
# (README, "Tokens and keys"). The version signing_key_version names must exist and be enabled:
# plans read its public key.
# Key rings and keys cannot be deleted in Cloud KMS: `terraform destroy` destroys the key's
# versions (after the scheduled-destruction delay) and forgets the ring; deploying the same
# instance_id again in the project needs `terraform import` of both.

resource "google_kms_key_ring" "auth" {
  count = var.create_signing_key ? 1 : 0

  project  = var.project_id
  name     = "${local.service_name}-webhook-auth"
  location = var.region
}

resource "google_kms_crypto_key" "auth" {
  #checkov:skip=CKV_GCP_43:Cloud KMS rotates symmetric keys only; an asymmetric signing key is rotated by adding a version and listing its public key in accepted_auth_keys (see above).
  #checkov:skip=CKV_GCP_82:The key signs tokens of this collector only; destroying the module must be able to destroy its versions (KMS keeps them recoverable for 30 days).
  count = var.create_signing_key ? 1 : 0

  name     = "token-signer"
  key_ring = google_kms_key_ring.auth[0].id
  purpose  = "ASYMMETRIC_SIGN"
  labels   = local.labels

  version_template {
    algorithm        = var.signing_key_algorithm
    protection_level = var.signing_key_protection_level
  }
}

# The public key (PEM) of the version tokens are signed with: version 1 is made with the key,
# later ones by `gcloud kms keys versions create`.
data "google_kms_crypto_key_version" "auth" {
  count = var.create_signing_key ? 1 : 0

  crypto_key = google_kms_crypto_key.auth[0].id
  version    = var.signing_key_version
}

locals {
  # The PEM's body, without its BEGIN/END lines and line breaks, is the base64 of the
  # SubjectPublicKeyInfo (DER).
  created_auth_keys = [
    for version in data.google_kms_crypto_key_version.auth :
    "base64:${replace(version.public_key[0].pem, "/-----[A-Z ]+-----|\\s/", "")}"
  ]
  # The keys tokens may be signed with: those given, then the one made here.
  accepted_auth_keys = concat(var.accepted_auth_keys, local.created_auth_keys)
}

# Who may sign tokens with it (asymmetricSign, and read the public key), on this key only.
resource "google_kms_crypto_key_iam_member" "issuers_sign" {
  for_each = var.create_signing_key ? toset(var.issuer_members) : toset([])

  crypto_key_id = google_kms_crypto_key.auth[0].id
  role          = "roles/cloudkms.signerVerifier"
  member        = each.value
}
