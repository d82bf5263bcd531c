# API mode on AWS: the `psoxy-api` function behind a Lambda function URL with IAM auth. A caller
# (the analytics vendor's AWS role, or the caller role made here) signs each request (SigV4,
# service `lambda`); the function adds the source's credentials, calls TARGET_HOST and returns
# the response sanitized by the rules. Resources are split by concern:
#   secrets.tf    salt, encryption key, source credentials (and large rules) as SSM parameters,
#                 or Secrets Manager secrets (secrets_store)
#   function.tf   the Lambda function, its URL and who may invoke it
#   iam.tf        the function's execution role (least privilege)
#   caller.tf     the optional caller role
#   monitoring.tf log group and alarms
#   async.tf      optional (enable_async_processing): the queue and bucket of asynchronous requests
#   vpc.tf        optional (vpc_config): the function's VPC placement and its network grants

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  function_name = "psoxy-${var.instance_id}"
  param_prefix  = "/${var.path_prefix}${var.instance_id}/"
  # IAM resource of a parameter under the prefix (a name starting with `/` follows `parameter`
  # directly in the ARN).
  param_arn_prefix = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.param_prefix}"

  use_kms = var.kms_key_arn != null

  # Where the salt, the encryption key, the source's credentials (and large rules) are: SSM
  # Parameter Store (the default) or, with secrets_store = "aws_secrets_manager", Secrets
  # Manager secrets of the same names, which the function then reads and writes
  # (SECRETS_STORE=AWS_SECRETS_MANAGER). The shared token's lock is an SSM String either way.
  use_secrets_manager = var.secrets_store == "aws_secrets_manager"
  use_ssm             = !local.use_secrets_manager
  # IAM resource of every secret under the prefix. The function asks for every setting the
  # environment does not set, and Secrets Manager answers a name the role may not read with
  # AccessDenied (not "not found"), which stops the function; so the read grant is the
  # instance's own prefix, as with SSM (writes name each secret's ARN).
  secret_arn_prefix = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.param_prefix}"

  # The source's authentication is chosen by our own names (var.source_auth_strategy, with
  # var.source_settings) or by Psoxy's (var.source_auth_strategy_identifier, with grant_type and
  # the other variables named after Psoxy's settings); exactly one (a precondition of the
  # function). The locals below are written so that neither choice, or both, still evaluates
  # and the precondition's message is what the operator sees.
  uses_identifier = var.source_auth_strategy_identifier != null
  # Names the choice in descriptions and messages, e.g. `oauth2_refresh_token/account_credentials`.
  strategy_label = join("/", compact([
    coalesce(var.source_auth_strategy_identifier, var.source_auth_strategy, "unset"),
    local.uses_identifier ? var.grant_type : null,
  ]))

  # The secret settings each auth strategy reads from SSM (the salt and the encryption key are
  # parameters whatever the strategy). Keep the keys in step with the validation of
  # var.source_auth_strategy.
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
  # The shared token is the SecureString ACCESS_TOKEN, which Terraform creates (placeholder) and
  # the function overwrites; the lock, OAUTH_REFRESH_TOKEN_lock, is a String the function
  # creates and deletes itself.
  source_secret_settings = toset(concat(
    local.strategy_secret_settings,
    local.use_shared_token ? ["ACCESS_TOKEN"] : [],
  ))
  shared_token_lock = "OAUTH_REFRESH_TOKEN_lock"

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

  # Microsoft workload identity federation on AWS: the function gets an OpenID token of a
  # developer identity of the Cognito identity pool made here (cognito.tf) and gives it to
  # Entra ID as the client assertion.
  workload_identity = local.uses_grant && var.grant_type == "workload_identity_federation"
  refresh_endpoint = (
    local.workload_identity && var.refresh_endpoint == null && var.msft_tenant_id != null
    ? "https://login.microsoftonline.com/${var.msft_tenant_id}/oauth2/v2.0/token"
    : var.refresh_endpoint
  )
  token_scope = local.workload_identity ? coalesce(var.token_scope, "https://graph.microsoft.com/.default") : var.token_scope

  # What is wrong with the settings of the choice, for the function's precondition (each
  # message names the variables to fix; compact() drops the empty strings of what is right).
  grant_label = coalesce(var.grant_type, "(none)")
  psoxy_variables_set = anytrue([
    for value in [var.grant_type, var.token_response_type, var.refresh_endpoint, var.client_id, var.credentials_flow, var.token_scope, var.oauth_scopes, var.msft_tenant_id, var.cognito_identity_id] : value != null
  ])
  auth_problems = compact(local.uses_identifier ? [
    local.uses_grant != (var.grant_type != null) ? "grant_type is required by oauth2_refresh_token, and only used there" : "",
    var.token_response_type != null && var.grant_type != "certificate_credentials" ? "token_response_type goes with grant_type certificate_credentials only" : "",
    local.uses_grant && !local.workload_identity && local.refresh_endpoint == null ? "refresh_endpoint is required by grant_type ${local.grant_label}" : "",
    local.workload_identity && local.refresh_endpoint == null ? "msft_tenant_id (or refresh_endpoint) is required by grant_type workload_identity_federation" : "",
    local.uses_grant && trimspace(coalesce(var.client_id, " ")) == "" ? "client_id is required by grant_type ${local.grant_label}" : "",
    !local.uses_grant && anytrue([for value in [var.refresh_endpoint, var.client_id, var.token_scope] : value != null]) ? "refresh_endpoint, client_id and token_scope go with oauth2_refresh_token only" : "",
    var.credentials_flow != null && var.grant_type != "client_credentials" ? "credentials_flow goes with grant_type client_credentials only" : "",
    !local.workload_identity && (var.msft_tenant_id != null || var.cognito_identity_id != null) ? "msft_tenant_id and cognito_identity_id go with grant_type workload_identity_federation only" : "",
    (var.source_auth_strategy_identifier == "gcp_service_account_key") != (var.oauth_scopes != null) ? "oauth_scopes is required by gcp_service_account_key, and only used there" : "",
    length(setsubtract(keys(var.source_settings), ["ACCOUNT_TO_IMPERSONATE", "TOKEN_REQUEST_FORMAT"])) > 0 ? "with source_auth_strategy_identifier, source_settings may hold only ACCOUNT_TO_IMPERSONATE and TOKEN_REQUEST_FORMAT (the others are variables of their own)" : "",
    var.use_shared_token == true && !local.token_strategy ? "use_shared_token needs oauth2_refresh_token (tokens from a token endpoint)" : "",
    ] : [
    local.psoxy_variables_set ? "grant_type, token_response_type, refresh_endpoint, client_id, credentials_flow, token_scope, oauth_scopes, msft_tenant_id and cognito_identity_id go with source_auth_strategy_identifier (with source_auth_strategy, give source_settings)" : "",
    var.use_shared_token == true && !local.token_strategy ? "use_shared_token needs oauth2_client_credentials, oauth2_refresh_token or ms_workload_identity (tokens from a token endpoint)" : "",
  ])

  # The function writes back (PutParameter, SecureString, under the KMS key when given; or
  # PutSecretValue with Secrets Manager): a rotated refresh token, and the shared access token;
  # and creates, reads and deletes the lock (a plain SSM String, whatever the store). Only these
  # parameters, by exact name.
  writes_refresh_token = contains(local.strategy_secret_settings, "REFRESH_TOKEN")
  written_secure_settings = concat(
    local.writes_refresh_token ? ["REFRESH_TOKEN"] : [],
    local.use_shared_token ? ["ACCESS_TOKEN"] : [],
  )
  writable_parameter_arns = [
    for name in concat(local.use_ssm ? local.written_secure_settings : [], local.use_shared_token ? [local.shared_token_lock] : []) :
    "${local.param_arn_prefix}${name}"
  ]
  deletable_parameter_arns = local.use_shared_token ? ["${local.param_arn_prefix}${local.shared_token_lock}"] : []
  # With Secrets Manager, the lock is the only parameter the function reads (with SSM, the
  # prefix's grant covers it) ...
  readable_lock_arns = local.use_secrets_manager && local.use_shared_token ? ["${local.param_arn_prefix}${local.shared_token_lock}"] : []
  # ... and the written tokens are secrets, by their ARNs.
  writable_secret_arns = local.use_secrets_manager ? [for name in local.written_secure_settings : aws_secretsmanager_secret.source_secret[name].arn] : []

  tags = merge({ "psoxy-instance" = var.instance_id }, var.tags)
}
