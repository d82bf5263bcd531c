# ---------------------------------------------------------------------------------------------
# What is deployed
# ---------------------------------------------------------------------------------------------

variable "instance_id" {
  description = "Name of this connector instance, e.g. `github`. Used in the function name (`psoxy-<instance_id>`), the SSM parameter prefix and `PSOXY_INSTANCE_ID`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$", var.instance_id))
    error_message = "instance_id must be 2-40 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "lambda_zip_path" {
  description = "Path of the `psoxy-api` function package (a zip holding `bootstrap`, built for arm64 like `scripts/package-lambda.sh` builds `psoxy-bulk`). Its SHA-256 decides whether the code is updated, so rebuilding the same code is no change."
  type        = string

  validation {
    condition     = fileexists(var.lambda_zip_path)
    error_message = "lambda_zip_path does not exist: build the psoxy-api package first."
  }
}

variable "target_host" {
  description = "The source API the function calls (`TARGET_HOST`): a host name, e.g. `api.github.com` (then https), or a base URL, e.g. `https://example.com:8443/api/v2`."
  type        = string

  validation {
    condition     = can(regex("^(https?://)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[^?#[:space:]]*)?$", var.target_host))
    error_message = "target_host must be a host name (api.github.com) or an http(s) base URL, without a query or fragment."
  }
}

variable "rules_file" {
  description = "Path of the API rules YAML (e.g. the repository's `transforms/api/github.yaml`); its content becomes `RULES`. Give this or `rules`, not both."
  type        = string
  default     = null

  validation {
    # `||` does not short-circuit: try() keeps fileexists(null) from failing.
    condition     = var.rules_file == null || try(fileexists(var.rules_file), false)
    error_message = "rules_file does not exist."
  }
}

variable "rules" {
  description = "The API rules as YAML text, instead of `rules_file`."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# The source API's authentication
# ---------------------------------------------------------------------------------------------

variable "source_auth_strategy" {
  description = "How the function authenticates to the source API, by our own names (`SOURCE_AUTH_STRATEGY`): none, bearer, header, basic, oauth2_client_credentials, oauth2_refresh_token, google_service_account or ms_workload_identity, with `source_settings`. Give this or `source_auth_strategy_identifier` (Psoxy's names), not both. Decides which secret SSM parameters are created (see the README)."
  type        = string
  default     = null

  validation {
    condition     = var.source_auth_strategy == null || try(contains(["none", "bearer", "header", "basic", "oauth2_client_credentials", "oauth2_refresh_token", "google_service_account", "ms_workload_identity"], var.source_auth_strategy), false)
    error_message = "source_auth_strategy must be one of none, bearer, header, basic, oauth2_client_credentials, oauth2_refresh_token, google_service_account, ms_workload_identity."
  }
}

variable "source_auth_strategy_identifier" {
  description = "How the function authenticates to the source API, by Psoxy's names (`SOURCE_AUTH_STRATEGY_IDENTIFIER`): oauth2_access_token, oauth2_refresh_token (with `grant_type`), gcp_service_account_key, basic_auth, claude_admin_api_key or windsurf_service_key. Give this or `source_auth_strategy`, not both. The secret SSM parameters are created under Psoxy's names (see the README)."
  type        = string
  default     = null

  validation {
    condition     = var.source_auth_strategy_identifier == null || try(contains(["oauth2_access_token", "oauth2_refresh_token", "gcp_service_account_key", "basic_auth", "claude_admin_api_key", "windsurf_service_key"], var.source_auth_strategy_identifier), false)
    error_message = "source_auth_strategy_identifier must be one of oauth2_access_token, oauth2_refresh_token, gcp_service_account_key, basic_auth, claude_admin_api_key, windsurf_service_key."
  }
}

variable "grant_type" {
  description = "With `source_auth_strategy_identifier = \"oauth2_refresh_token\"` (and only then; required there): the token request (`GRANT_TYPE`): refresh_token, refresh_token_via_query_parameter (Gong), account_credentials (Zoom), client_credentials, certificate_credentials (GitHub App) or workload_identity_federation (Microsoft, through a Cognito identity pool made here)."
  type        = string
  default     = null

  validation {
    condition     = var.grant_type == null || try(contains(["refresh_token", "refresh_token_via_query_parameter", "account_credentials", "client_credentials", "certificate_credentials", "workload_identity_federation"], var.grant_type), false)
    error_message = "grant_type must be one of refresh_token, refresh_token_via_query_parameter, account_credentials, client_credentials, certificate_credentials, workload_identity_federation."
  }
}

variable "token_response_type" {
  description = "How the token endpoint's answer is read (`TOKEN_RESPONSE_TYPE`): null for OAuth 2.0 JSON, `GITHUB_ACCESS_TOKEN` for GitHub's installation tokens (with grant_type certificate_credentials)."
  type        = string
  default     = null

  validation {
    condition     = var.token_response_type == null || var.token_response_type == "GITHUB_ACCESS_TOKEN"
    error_message = "token_response_type must be null or GITHUB_ACCESS_TOKEN."
  }
}

variable "refresh_endpoint" {
  description = "The token endpoint (`REFRESH_ENDPOINT`), e.g. `https://zoom.us/oauth/token`; required by every grant but workload_identity_federation, whose default is the `msft_tenant_id` tenant's."
  type        = string
  default     = null

  validation {
    condition     = var.refresh_endpoint == null || can(regex("^https://[^[:space:]]+$", var.refresh_endpoint))
    error_message = "refresh_endpoint must be an https URL."
  }
}

variable "client_id" {
  description = "The OAuth client or app id (`CLIENT_ID`, in the environment: it is not a secret); required by every grant. With workload_identity_federation, the Entra application (client) id."
  type        = string
  default     = null
}

variable "credentials_flow" {
  description = "With grant_type client_credentials: `jwt_assertion` (null means this, as Psoxy: secrets PRIVATE_KEY and PRIVATE_KEY_ID) or `client_secret` (secret CLIENT_SECRET) (`CREDENTIALS_FLOW`)."
  type        = string
  default     = null

  validation {
    condition     = var.credentials_flow == null || try(contains(["jwt_assertion", "client_secret"], var.credentials_flow), false)
    error_message = "credentials_flow must be null, jwt_assertion or client_secret."
  }
}

variable "token_scope" {
  description = "The `scope` of the token request (`TOKEN_SCOPE`): optional with client_credentials; with workload_identity_federation null means `https://graph.microsoft.com/.default`."
  type        = string
  default     = null
}

variable "oauth_scopes" {
  description = "Space-separated scopes of gcp_service_account_key (`OAUTH_SCOPES`; required there)."
  type        = string
  default     = null
}

variable "use_shared_token" {
  description = "Instances share one access token (`USE_SHARED_TOKEN`), kept in the SecureString parameter `ACCESS_TOKEN` and refreshed under the lock parameter `OAUTH_REFRESH_TOKEN_lock`, which the function then may write (and delete). Only for strategies that get tokens from a token endpoint. Null: true only for grant_type account_credentials, as Psoxy."
  type        = bool
  default     = null
}

variable "msft_tenant_id" {
  description = "With grant_type workload_identity_federation: the Entra tenant (id or domain); the token endpoint is then `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token` (unless `refresh_endpoint` is given)."
  type        = string
  default     = null

  validation {
    condition     = var.msft_tenant_id == null || can(regex("^[A-Za-z0-9.-]+$", var.msft_tenant_id))
    error_message = "msft_tenant_id must be a tenant id (a GUID) or domain."
  }
}

variable "cognito_identity_id" {
  description = "With grant_type workload_identity_federation: the Cognito identity id (`IDENTITY_ID`, e.g. `us-east-1:0123...`) whose OpenID token is the federated assertion. Null: Cognito resolves the identity linked to the login `client_id` (see the output `cognito_identity_pool_id`)."
  type        = string
  default     = null
}

variable "source_settings" {
  description = "Non-secret settings of the source's authentication by our own names (with `source_auth_strategy`; with `source_auth_strategy_identifier` only ACCOUNT_TO_IMPERSONATE and TOKEN_REQUEST_FORMAT), passed as environment variables: CLIENT_ID, TOKEN_ENDPOINT, OAUTH_SCOPES, TOKEN_REQUEST_FORMAT (form or json), ACCOUNT_TO_IMPERSONATE, MS_TENANT_ID, MS_FEDERATED_TOKEN_FILE, API_KEY_HEADER, BASIC_AUTH_USER. Secrets (tokens, passwords, keys) are never given here: they are SSM parameters filled out of band."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.source_settings) : contains([
      "CLIENT_ID", "TOKEN_ENDPOINT", "OAUTH_SCOPES", "TOKEN_REQUEST_FORMAT",
      "ACCOUNT_TO_IMPERSONATE", "MS_TENANT_ID", "MS_FEDERATED_TOKEN_FILE", "API_KEY_HEADER",
      "BASIC_AUTH_USER",
    ], name)])
    error_message = "source_settings may hold only CLIENT_ID, TOKEN_ENDPOINT, OAUTH_SCOPES, TOKEN_REQUEST_FORMAT, ACCOUNT_TO_IMPERSONATE, MS_TENANT_ID, MS_FEDERATED_TOKEN_FILE, API_KEY_HEADER and BASIC_AUTH_USER (secrets go to SSM)."
  }
}

variable "upstream_timeout_seconds" {
  description = "Timeout of each call to the source API (`UPSTREAM_TIMEOUT_SECONDS`); keep it below `timeout_seconds`. Null: the binary's default."
  type        = number
  default     = null

  validation {
    condition     = var.upstream_timeout_seconds == null || try(var.upstream_timeout_seconds >= 1 && var.upstream_timeout_seconds <= 900, false)
    error_message = "upstream_timeout_seconds must be between 1 and 900."
  }
}

variable "extra_environment" {
  description = "More function settings as environment variables (e.g. `{ EMAIL_CANONICALIZATION = \"IGNORE_DOTS\" }`). Never secrets: the names of the secret settings are refused."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.extra_environment) : !contains([
      "PSOXY_SALT", "PSOXY_ENCRYPTION_KEY", "ACCESS_TOKEN", "BASIC_AUTH_PASSWORD",
      "CLIENT_SECRET", "REFRESH_TOKEN", "SERVICE_ACCOUNT_KEY", "ACCOUNT_ID", "PRIVATE_KEY",
      "PRIVATE_KEY_ID", "BASIC_AUTH_USER_ID", "ADMIN_API_KEY", "SERVICE_KEY",
    ], name)])
    error_message = "extra_environment must not hold secrets (PSOXY_SALT, PSOXY_ENCRYPTION_KEY, ACCESS_TOKEN, BASIC_AUTH_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, SERVICE_ACCOUNT_KEY, ACCOUNT_ID, PRIVATE_KEY, PRIVATE_KEY_ID, BASIC_AUTH_USER_ID, ADMIN_API_KEY, SERVICE_KEY): they are SSM parameters."
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

variable "path_prefix" {
  description = "Parameters live under `/<path_prefix><instance_id>/` (`PATH_TO_INSTANCE_CONFIG`), e.g. `/psoxy/github/ACCESS_TOKEN`. Empty or ending with `/`."
  type        = string
  default     = "psoxy/"

  validation {
    condition     = can(regex("^([A-Za-z0-9_.-]+/)*$", var.path_prefix))
    error_message = "path_prefix must be empty or look like `psoxy/` (no leading /, ends with /)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key (its ARN) for the SecureString parameters or Secrets Manager secrets (with the tokens the function writes), the log group, the function's environment and, with asynchronous requests, their queues and bucket. The function is granted kms:Decrypt on it, kms:Encrypt (SecureStrings) or kms:GenerateDataKey (secrets) when it writes tokens, and kms:GenerateDataKey when it sends to the queue or writes objects (which covers an existing async bucket or side-output bucket encrypted with it). Null: the `aws/ssm` or `aws/secretsmanager` key and AWS-owned encryption. The key policy must let the account use it (IAM policies then grant it), and let `logs.<region>.amazonaws.com` use it for the log group; the module does not change the key's policy."
  type        = string
  default     = null
}

variable "secrets_store" {
  description = "Where the salt, the encryption key, the source's credentials (and rules too large for the environment) are kept and read: `aws_ssm_parameter_store` (SSM parameters) or `aws_secrets_manager` (Secrets Manager secrets of the same names, `/<path_prefix><instance_id>/<SETTING>`, encrypted with `kms_key_arn` when given, the credentials' ones created empty and filled with `aws secretsmanager put-secret-value`). With Secrets Manager the function gets `SECRETS_STORE=AWS_SECRETS_MANAGER` and secretsmanager:GetSecretValue on its prefix, secretsmanager:PutSecretValue on exactly the tokens it writes, and no SSM grant but on the shared token's lock (`OAUTH_REFRESH_TOKEN_lock`, an SSM String whatever the store). Switching moves nothing: set `salt` to keep the pseudonyms, and fill the credentials again."
  type        = string
  default     = "aws_ssm_parameter_store"

  validation {
    condition     = contains(["aws_ssm_parameter_store", "aws_secrets_manager"], var.secrets_store)
    error_message = "secrets_store must be aws_ssm_parameter_store or aws_secrets_manager."
  }
}

variable "salt" {
  description = "The salt of an existing deployment (`PSOXY_SALT`), to keep its pseudonyms. Null: a random 32-character salt is generated once and kept in the Terraform state and the SSM parameter."
  type        = string
  default     = null
  sensitive   = true
}

variable "encryption_key" {
  description = "The `PSOXY_ENCRYPTION_KEY` of an existing deployment (for reversible tokens). Null: a random one is generated when `generate_encryption_key` is true."
  type        = string
  default     = null
  sensitive   = true
}

variable "generate_encryption_key" {
  description = "Create the `PSOXY_ENCRYPTION_KEY` parameter (needed only by rules that make reversible tokens)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------

variable "memory_mb" {
  description = "Function memory in MB. CPU grows with memory: 1769 MB is one full vCPU."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Function timeout in seconds: how long one proxied request may take, upstream call included. The caller's own HTTP timeout should be longer."
  type        = number
  default     = 55

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: at most this many requests are served at once (more get HTTP 429), which also caps the load on the source API. -1: no reservation (use -1 in a new account whose concurrency limit is 10, where AWS refuses any reservation)."
  type        = number
  default     = 10
}

variable "vpc_config" {
  description = "Run the function in a VPC: its network interfaces go in `subnet_ids` with `security_group_ids`, and its role gets a policy of its own allowing ec2:CreateNetworkInterface in those subnets with those groups, ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses and ec2:UnassignPrivateIpAddresses on this account's network interfaces in the region, and ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (on `*`, as AWS requires). The function URL still receives the requests. The subnets need a route to the source API and its token endpoint (a NAT gateway) and to every AWS API the function calls: SSM or Secrets Manager, SQS and S3 with asynchronous requests or side outputs, Cognito with workload identity federation, KMS with a customer key (interface endpoints, an S3 gateway endpoint, or the NAT gateway). Null: no VPC."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition = var.vpc_config == null || try(
      length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0
      && alltrue([for id in var.vpc_config.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
      && alltrue([for id in var.vpc_config.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))]),
      false,
    )
    error_message = "vpc_config needs at least one subnet id (subnet-...) and one security group id (sg-...)."
  }
}

variable "log_level" {
  description = "The function's log filter (`RUST_LOG`), e.g. `info` or `psoxy=debug,info`."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the function fails or is throttled."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------------------------
# Who may call the function URL
# ---------------------------------------------------------------------------------------------

variable "caller_principal_arns" {
  description = "IAM role or user ARNs (e.g. the analytics vendor's AWS role) allowed to invoke the function URL, by the function's resource policy: lambda:InvokeFunctionUrl with auth type AWS_IAM, and lambda:InvokeFunction only through the URL. Their own identity policy must allow the same when they are in another account."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.caller_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "caller_principal_arns must be IAM role or user ARNs (arn:aws:iam::<account>:role/<name>); never `*`."
  }
}

variable "caller_trust_principal" {
  description = "Who may assume the caller role `psoxy-<instance_id>-caller` (created only when this is set), which may invoke this function URL and nothing else: AWS principal ARNs (optionally with an external id) and/or Google service accounts' numeric unique ids by web-identity federation (`accounts.google.com`, checked on the token's `aud`)."
  type = object({
    aws_principal_arns         = optional(list(string), [])
    external_id                = optional(string)
    google_service_account_ids = optional(list(string), [])
  })
  default = null

  validation {
    condition     = try(length(var.caller_trust_principal.aws_principal_arns) + length(var.caller_trust_principal.google_service_account_ids) > 0, true)
    error_message = "caller_trust_principal needs at least one AWS principal ARN or Google service account id."
  }

  validation {
    condition     = try(alltrue([for id in var.caller_trust_principal.google_service_account_ids : can(regex("^[0-9]{10,30}$", id))]), true)
    error_message = "caller_trust_principal.google_service_account_ids must be numeric service-account unique ids (not emails)."
  }

  validation {
    condition     = try(alltrue([for arn in var.caller_trust_principal.aws_principal_arns : arn != "*"]), true)
    error_message = "caller_trust_principal.aws_principal_arns must name principals, not `*`."
  }
}

# ---------------------------------------------------------------------------------------------
# Asynchronous requests and side outputs
# ---------------------------------------------------------------------------------------------

variable "enable_async_processing" {
  description = "Answer `Prefer: respond-async` requests with 202 and a `Location` in an async bucket made here, and fetch them in the background from an SQS queue made here (ASYNC_OUTPUT_DESTINATION, ASYNC_API_REQUEST_QUEUE_URL). For slow report APIs (Slack Analytics, ChatGPT Enterprise; with FOLLOW_REDIRECTS=false in extra_environment, a redirect to a presigned download is fetched without credentials)."
  type        = bool
  default     = false
}

variable "existing_async_output_destination" {
  description = "With enable_async_processing: `s3://bucket/prefix` of an existing bucket for the asynchronous answers (`ASYNC_OUTPUT_DESTINATION`) instead of the async bucket made here; the function is granted s3:PutObject and s3:AbortMultipartUpload under the prefix, nothing is managed for the bucket (its readers, expiry and encryption stay its owner's: `async_reader_principal_arns` and `async_output_expiration_days` apply to the bucket made here only). Null: a bucket is made here."
  type        = string
  default     = null

  validation {
    condition     = var.existing_async_output_destination == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?$", var.existing_async_output_destination))
    error_message = "existing_async_output_destination must be s3://bucket or s3://bucket/prefix (no * or ?)."
  }
}

variable "async_output_expiration_days" {
  description = "Days before an asynchronous answer in the async bucket made here is deleted (0: never)."
  type        = number
  default     = 30
}

variable "async_reader_principal_arns" {
  description = "Principals (e.g. the analytics vendor's role) allowed to read the asynchronous answers, by the policy of the async bucket made here (with existing_async_output_destination, grant them on that bucket)."
  type        = list(string)
  default     = []
}

variable "side_output_sanitized" {
  description = "`s3://bucket/prefix` of an existing bucket where every 2xx sanitized answer is also written (SIDE_OUTPUT_SANITIZED); the function is granted s3:PutObject under the prefix. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.side_output_sanitized == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.side_output_sanitized))
    error_message = "side_output_sanitized must be s3://bucket or s3://bucket/prefix."
  }
}
