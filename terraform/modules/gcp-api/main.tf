# API mode on Google Cloud: the Cloud Run service (`/psoxy-gcp api`), reachable only by the
# service accounts in var.caller_service_accounts (an ID token whose audience is the service's
# URL; there is no public invoker). It adds the source's credentials, calls TARGET_HOST and
# returns the response sanitized by the rules. Resources are split by concern:
#   secrets.tf    salt, encryption key and the source's credentials in Secret Manager
#   service.tf    the Cloud Run service
#   async.tf      with enable_async_processing: the jobs and answers buckets, the jobs' Eventarc
#                 trigger and its dead-letter topic
#   iam.tf        its service account and every grant (secret-, bucket- and service-level; with
#                 enable_async_processing, project-level where Eventarc requires it)
#   monitoring.tf alert policies (the dead letters' with enable_async_processing)

locals {
  service_name = "psoxy-${var.instance_id}"
  # Secret Manager ids are `<prefix><SETTING>`, the prefix being Psoxy's default instance
  # namespace: the service's name upper-cased, `-` as `_`, and `_` (psoxy-zoom -> PSOXY_ZOOM_).
  secret_prefix = "${upper(replace(local.service_name, "-", "_"))}_"

  # The source's authentication is chosen by our own names (var.source_auth_strategy, with
  # var.source_settings) or by Psoxy's (var.source_auth_strategy_identifier, with grant_type and
  # the other variables named after Psoxy's settings); exactly one (a precondition of the
  # service). These locals have the shape of modules/aws-api's (scripts/check_terraform.py
  # checks both against the binary's strategies); only where secrets live differs.
  uses_identifier = var.source_auth_strategy_identifier != null
  # Names the choice in descriptions and messages, e.g. `oauth2_refresh_token/account_credentials`.
  strategy_label = join("/", compact([
    coalesce(var.source_auth_strategy_identifier, var.source_auth_strategy, "unset"),
    local.uses_identifier ? var.grant_type : null,
  ]))

  # The secret settings each auth strategy reads from Secret Manager (the salt and the
  # encryption key are secrets whatever the strategy). Keep the keys in step with the
  # validation of var.source_auth_strategy.
  secret_settings_by_strategy = {
    none                      = []
    bearer                    = ["ACCESS_TOKEN"]
    header                    = ["ACCESS_TOKEN"]
    basic                     = ["BASIC_AUTH_PASSWORD"]
    oauth2_client_credentials = ["CLIENT_SECRET"]
    oauth2_refresh_token      = ["CLIENT_SECRET", "REFRESH_TOKEN"]
    google_service_account    = ["SERVICE_ACCOUNT_KEY"]
    ms_workload_identity      = []
  }
  # The same by Psoxy's names: per SOURCE_AUTH_STRATEGY_IDENTIFIER, and for oauth2_refresh_token
  # per GRANT_TYPE (client_credentials per CREDENTIALS_FLOW, jwt_assertion by default). CLIENT_ID
  # is not among them: var.client_id puts it in the environment. Keep the keys in step with the
  # validations of var.source_auth_strategy_identifier and var.grant_type.
  secret_settings_by_identifier = {
    oauth2_access_token     = ["ACCESS_TOKEN"]
    oauth2_refresh_token    = []
    gcp_service_account_key = ["SERVICE_ACCOUNT_KEY"]
    basic_auth              = ["BASIC_AUTH_USER_ID", "BASIC_AUTH_PASSWORD"]
    claude_admin_api_key    = ["ADMIN_API_KEY"]
    windsurf_service_key    = ["SERVICE_KEY"]
  }
  secret_settings_by_grant = {
    refresh_token                     = ["CLIENT_SECRET", "REFRESH_TOKEN"]
    refresh_token_via_query_parameter = ["CLIENT_SECRET", "REFRESH_TOKEN"]
    account_credentials               = ["ACCOUNT_ID", "CLIENT_SECRET"]
    client_credentials_client_secret  = ["CLIENT_SECRET"]
    client_credentials_jwt_assertion  = ["PRIVATE_KEY", "PRIVATE_KEY_ID"]
    certificate_credentials           = ["PRIVATE_KEY"]
    workload_identity_federation      = []
  }
  grant_key = (
    var.grant_type == "client_credentials"
    ? "client_credentials_${coalesce(var.credentials_flow, "jwt_assertion")}"
    : coalesce(var.grant_type, "none")
  )
  uses_grant = local.uses_identifier && var.source_auth_strategy_identifier == "oauth2_refresh_token"
  strategy_secret_settings = local.uses_identifier ? concat(
    lookup(local.secret_settings_by_identifier, var.source_auth_strategy_identifier, []),
    local.uses_grant ? lookup(local.secret_settings_by_grant, local.grant_key, []) : [],
  ) : lookup(local.secret_settings_by_strategy, coalesce(var.source_auth_strategy, "none"), [])

  # Strategies that get their access tokens from a token endpoint, which may share them.
  token_strategy = local.uses_grant || contains(
    ["oauth2_client_credentials", "oauth2_refresh_token", "ms_workload_identity"],
    local.uses_identifier ? "" : coalesce(var.source_auth_strategy, "none"),
  )
  # USE_SHARED_TOKEN: Psoxy's default is true only for account_credentials.
  use_shared_token = local.token_strategy && coalesce(var.use_shared_token, var.grant_type == "account_credentials")
  # The shared token is the secret ACCESS_TOKEN: Terraform creates it (no version), the service
  # adds a version with each new token and destroys the older ones. Its lock is the
  # label `locked` of the secret OAUTH_REFRESH_TOKEN, which Terraform creates (no version) and
  # the service updates under an etag guard.
  source_secret_settings = toset(concat(
    local.strategy_secret_settings,
    local.use_shared_token ? ["ACCESS_TOKEN"] : [],
  ))
  shared_token_lock = "OAUTH_REFRESH_TOKEN"

  # The non-secret settings each strategy cannot do without (given in var.source_settings).
  required_settings_by_strategy = {
    none                      = []
    bearer                    = []
    header                    = ["API_KEY_HEADER"]
    basic                     = ["BASIC_AUTH_USER"]
    oauth2_client_credentials = ["TOKEN_ENDPOINT", "CLIENT_ID"]
    oauth2_refresh_token      = ["TOKEN_ENDPOINT", "CLIENT_ID"]
    google_service_account    = []
    ms_workload_identity      = ["CLIENT_ID", "MS_TENANT_ID", "MS_FEDERATED_TOKEN_FILE"]
  }
  missing_source_settings = local.uses_identifier ? [] : [
    for name in lookup(local.required_settings_by_strategy, coalesce(var.source_auth_strategy, "none"), []) : name
    if trimspace(lookup(var.source_settings, name, "")) == ""
  ]

  # Microsoft workload identity federation on GCP: the service gives Entra ID, as the client
  # assertion, an ID token of its own service account from the metadata server (audience
  # AUDIENCE); no secret is kept anywhere.
  workload_identity = local.uses_grant && var.grant_type == "workload_identity_federation"
  refresh_endpoint = (
    local.workload_identity && var.refresh_endpoint == null && var.msft_tenant_id != null
    ? "https://login.microsoftonline.com/${var.msft_tenant_id}/oauth2/v2.0/token"
    : var.refresh_endpoint
  )
  token_scope = local.workload_identity ? coalesce(var.token_scope, "https://graph.microsoft.com/.default") : var.token_scope
  audience    = local.workload_identity ? coalesce(var.audience, "api://AzureADTokenExchange") : var.audience

  # What is wrong with the settings of the choice, for the service's precondition (each
  # message names the variables to fix; compact() drops the empty strings of what is right).
  grant_label = coalesce(var.grant_type, "(none)")
  psoxy_variables_set = anytrue([
    for value in [var.grant_type, var.token_response_type, var.refresh_endpoint, var.client_id, var.credentials_flow, var.token_scope, var.oauth_scopes, var.msft_tenant_id, var.audience] : value != null
  ])
  auth_problems = compact(local.uses_identifier ? [
    local.uses_grant != (var.grant_type != null) ? "grant_type is required by oauth2_refresh_token, and only used there" : "",
    var.token_response_type != null && var.grant_type != "certificate_credentials" ? "token_response_type goes with grant_type certificate_credentials only" : "",
    local.uses_grant && !local.workload_identity && local.refresh_endpoint == null ? "refresh_endpoint is required by grant_type ${local.grant_label}" : "",
    local.workload_identity && local.refresh_endpoint == null ? "msft_tenant_id (or refresh_endpoint) is required by grant_type workload_identity_federation" : "",
    local.uses_grant && trimspace(coalesce(var.client_id, " ")) == "" ? "client_id is required by grant_type ${local.grant_label}" : "",
    !local.uses_grant && anytrue([for value in [var.refresh_endpoint, var.client_id, var.token_scope] : value != null]) ? "refresh_endpoint, client_id and token_scope go with oauth2_refresh_token only" : "",
    var.credentials_flow != null && var.grant_type != "client_credentials" ? "credentials_flow goes with grant_type client_credentials only" : "",
    !local.workload_identity && (var.msft_tenant_id != null || var.audience != null) ? "msft_tenant_id and audience go with grant_type workload_identity_federation only" : "",
    (var.source_auth_strategy_identifier == "gcp_service_account_key") != (var.oauth_scopes != null) ? "oauth_scopes is required by gcp_service_account_key, and only used there" : "",
    length(setsubtract(keys(var.source_settings), ["ACCOUNT_TO_IMPERSONATE", "TOKEN_REQUEST_FORMAT"])) > 0 ? "with source_auth_strategy_identifier, source_settings may hold only ACCOUNT_TO_IMPERSONATE and TOKEN_REQUEST_FORMAT (the others are variables of their own)" : "",
    var.use_shared_token == true && !local.token_strategy ? "use_shared_token needs oauth2_refresh_token (tokens from a token endpoint)" : "",
    ] : [
    local.psoxy_variables_set ? "grant_type, token_response_type, refresh_endpoint, client_id, credentials_flow, token_scope, oauth_scopes, msft_tenant_id and audience go with source_auth_strategy_identifier (with source_auth_strategy, give source_settings)" : "",
    var.use_shared_token == true && !local.token_strategy ? "use_shared_token needs oauth2_client_credentials, oauth2_refresh_token or ms_workload_identity (tokens from a token endpoint)" : "",
  ])

  # The secrets the service rewrites at run time, read and written by name (never bound into
  # its environment): a rotated refresh token (a new version), and the shared access token (a
  # new version, older ones destroyed, label latest-version). Only these, by exact id.
  writes_refresh_token = contains(local.strategy_secret_settings, "REFRESH_TOKEN")
  written_secret_settings = toset(concat(
    local.writes_refresh_token ? ["REFRESH_TOKEN"] : [],
    local.use_shared_token ? ["ACCESS_TOKEN"] : [],
  ))
  # ... and the secrets bound into its environment at start: every other one.
  static_secret_settings = setsubtract(local.source_secret_settings, local.written_secret_settings)

  labels = merge({ "psoxy-instance" = var.instance_id }, var.labels)
}
