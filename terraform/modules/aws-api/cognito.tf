# Microsoft workload identity federation on AWS (grant_type workload_identity_federation): Entra
# ID accepts, as the app's client assertion, an OpenID token of a Cognito developer identity.
# The function asks for one (GetOpenIdTokenForDeveloperIdentity, login
# `<developer provider name>=<client id>`) and trades it at the tenant's token endpoint; the
# app's federated credential trusts issuer https://cognito-identity.amazonaws.com, audience the
# pool's id and subject the identity's id (see the output cognito_identity_pool_id). No secret
# is kept anywhere.

locals {
  developer_provider_name = "psoxy-${var.instance_id}"
  # The login of the identity (the Entra application id), for the output's command.
  client_id_label = coalesce(var.client_id, "<client_id>")
}

resource "aws_cognito_identity_pool" "workload_identity" {
  count = local.workload_identity ? 1 : 0

  identity_pool_name = "psoxy-${var.instance_id}"
  # Identities are made only by developer-authenticated calls (AWS credentials allowed by IAM);
  # no guest identities, no public login providers.
  allow_unauthenticated_identities = false
  allow_classic_flow               = false
  developer_provider_name          = local.developer_provider_name
  tags                             = local.tags
}
