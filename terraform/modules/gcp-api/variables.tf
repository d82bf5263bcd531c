# ---------------------------------------------------------------------------------------------
# What is deployed, and where
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project to deploy to; it also holds the secrets (`GOOGLE_CLOUD_PROJECT`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 lowercase letters, digits and hyphens), not its number or name."
  }
}

variable "region" {
  description = "Region of the Cloud Run service, e.g. `europe-west1`."
  type        = string
}

variable "instance_id" {
  description = "Name of this connector instance, e.g. `zoom`. Used in the service's name and service account (`psoxy-<instance_id>`), the secrets' prefix (`PSOXY_<INSTANCE_ID>_`) and `PSOXY_INSTANCE_ID`."
  type        = string

  validation {
    # At most 24 characters: the service account id, `psoxy-<id>`, may have 30.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,22}[a-z0-9]$", var.instance_id))
    error_message = "instance_id must be 2-24 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "image" {
  description = "The psoxy image (the `/psoxy-gcp` binary as entrypoint), by digest: `<region>-docker.pkg.dev/<project>/<repository>/psoxy-gcp@sha256:<digest>`, as `bash scripts/package-gcp.sh` prints it. Building and pushing it is not this module's job (see the README)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^[:space:]@]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.image))
    error_message = "image must be a full image reference with a digest (`...@sha256:<64 hex>`, preferred: a deployment is then exactly that image) or a tag."
  }
}

variable "target_host" {
  description = "The source API the service calls (`TARGET_HOST`): a host name, e.g. `api.zoom.us` (then https), or a base URL, e.g. `https://example.com:8443/api/v2`."
  type        = string

  validation {
    condition     = can(regex("^(https?://)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[^?#[:space:]]*)?$", var.target_host))
    error_message = "target_host must be a host name (api.zoom.us) or an http(s) base URL, without a query or fragment."
  }
}

variable "rules_file" {
  description = "Path of the API rules YAML (e.g. the repository's `transforms/api/zoom.yaml`); its content becomes `RULES` (gzipped when over 16 KB). Give this or `rules`, not both."
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

variable "labels" {
  description = "Labels added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# The source API's authentication
# ---------------------------------------------------------------------------------------------

variable "source_auth_strategy" {
  description = "How the service authenticates to the source API, by our own names (`SOURCE_AUTH_STRATEGY`): none, bearer, header, basic, oauth2_client_credentials, oauth2_refresh_token, google_service_account or ms_workload_identity, with `source_settings`. Give this or `source_auth_strategy_identifier` (Psoxy's names), not both. Decides which secrets are created in Secret Manager (see the README)."
  type        = string
  default     = null

  validation {
    condition     = var.source_auth_strategy == null || try(contains(["none", "bearer", "header", "basic", "oauth2_client_credentials", "oauth2_refresh_token", "google_service_account", "ms_workload_identity"], var.source_auth_strategy), false)
    error_message = "source_auth_strategy must be one of none, bearer, header, basic, oauth2_client_credentials, oauth2_refresh_token, google_service_account, ms_workload_identity."
  }
}

variable "source_auth_strategy_identifier" {
  description = "How the service authenticates to the source API, by Psoxy's names (`SOURCE_AUTH_STRATEGY_IDENTIFIER`): oauth2_access_token, oauth2_refresh_token (with `grant_type`), gcp_service_account_key, basic_auth, claude_admin_api_key or windsurf_service_key. Give this or `source_auth_strategy`, not both. The secrets are created under Psoxy's names (see the README)."
  type        = string
  default     = null

  validation {
    condition     = var.source_auth_strategy_identifier == null || try(contains(["oauth2_access_token", "oauth2_refresh_token", "gcp_service_account_key", "basic_auth", "claude_admin_api_key", "windsurf_service_key"], var.source_auth_strategy_identifier), false)
    error_message = "source_auth_strategy_identifier must be one of oauth2_access_token, oauth2_refresh_token, gcp_service_account_key, basic_auth, claude_admin_api_key, windsurf_service_key."
  }
}

variable "grant_type" {
  description = "With `source_auth_strategy_identifier = \"oauth2_refresh_token\"` (and only then; required there): the token request (`GRANT_TYPE`): refresh_token, refresh_token_via_query_parameter (Gong), account_credentials (Zoom), client_credentials, certificate_credentials (GitHub App) or workload_identity_federation (Microsoft, with an ID token of the service's own account)."
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
  description = "Instances share one access token (`USE_SHARED_TOKEN`), kept in the secret `ACCESS_TOKEN` and refreshed under a lock kept as a label of the secret `OAUTH_REFRESH_TOKEN`; the service may then write those two (only). Only for strategies that get tokens from a token endpoint. Null: true only for grant_type account_credentials, as Psoxy."
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

variable "audience" {
  description = "With grant_type workload_identity_federation: the audience of the metadata server's ID token (`AUDIENCE`), which the Entra app's federated credential expects (its issuer is https://accounts.google.com, its subject the output service_account_unique_id). Null: `api://AzureADTokenExchange`."
  type        = string
  default     = null
}

variable "source_settings" {
  description = "Non-secret settings of the source's authentication by our own names (with `source_auth_strategy`; with `source_auth_strategy_identifier` only ACCOUNT_TO_IMPERSONATE and TOKEN_REQUEST_FORMAT), passed as environment variables: CLIENT_ID, TOKEN_ENDPOINT, OAUTH_SCOPES, TOKEN_REQUEST_FORMAT (form or json), ACCOUNT_TO_IMPERSONATE, MS_TENANT_ID, MS_FEDERATED_TOKEN_FILE, API_KEY_HEADER, BASIC_AUTH_USER. Secrets (tokens, passwords, keys) are never given here: they are Secret Manager secrets filled out of band."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.source_settings) : contains([
      "CLIENT_ID", "TOKEN_ENDPOINT", "OAUTH_SCOPES", "TOKEN_REQUEST_FORMAT",
      "ACCOUNT_TO_IMPERSONATE", "MS_TENANT_ID", "MS_FEDERATED_TOKEN_FILE", "API_KEY_HEADER",
      "BASIC_AUTH_USER",
    ], name)])
    error_message = "source_settings may hold only CLIENT_ID, TOKEN_ENDPOINT, OAUTH_SCOPES, TOKEN_REQUEST_FORMAT, ACCOUNT_TO_IMPERSONATE, MS_TENANT_ID, MS_FEDERATED_TOKEN_FILE, API_KEY_HEADER and BASIC_AUTH_USER (secrets go to Secret Manager)."
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
  description = "More service settings as environment variables (e.g. `{ EMAIL_CANONICALIZATION = \"IGNORE_DOTS\" }`). Never secrets: the names of the secret settings are refused."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.extra_environment) : !contains([
      "PSOXY_SALT", "PSOXY_ENCRYPTION_KEY", "ACCESS_TOKEN", "BASIC_AUTH_PASSWORD",
      "CLIENT_SECRET", "REFRESH_TOKEN", "SERVICE_ACCOUNT_KEY", "ACCOUNT_ID", "PRIVATE_KEY",
      "PRIVATE_KEY_ID", "BASIC_AUTH_USER_ID", "ADMIN_API_KEY", "SERVICE_KEY",
    ], name)])
    error_message = "extra_environment must not hold secrets (PSOXY_SALT, PSOXY_ENCRYPTION_KEY, ACCESS_TOKEN, BASIC_AUTH_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, SERVICE_ACCOUNT_KEY, ACCOUNT_ID, PRIVATE_KEY, PRIVATE_KEY_ID, BASIC_AUTH_USER_ID, ADMIN_API_KEY, SERVICE_KEY): they are Secret Manager secrets."
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

variable "shared_secret_prefix" {
  description = "Secret-id prefix of settings shared by several instances (`PATH_TO_SHARED_CONFIG`), e.g. `PSOXY_SHARED_`, read after the instance's own. The service is granted no secret under it but `salt_secret_id`. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.shared_secret_prefix == null || can(regex("^[A-Za-z0-9_-]+$", coalesce(var.shared_secret_prefix, "x")))
    error_message = "shared_secret_prefix must be letters, digits, `_` and `-` (a secret id prefix)."
  }
}

variable "salt" {
  description = "The salt of an existing deployment (`PSOXY_SALT`), to keep its pseudonyms. Null: a random 32-character salt is generated once and kept in the Terraform state and the secret. Ignored with `salt_secret_id`."
  type        = string
  default     = null
  sensitive   = true
}

variable "salt_secret_id" {
  description = "Id of an existing secret in `project_id` holding the salt (e.g. `PSOXY_SHARED_PSOXY_SALT`, shared with other instances, as Psoxy keeps it). Null: the module creates `PSOXY_<INSTANCE_ID>_PSOXY_SALT`."
  type        = string
  default     = null

  validation {
    condition     = var.salt_secret_id == null || can(regex("^[A-Za-z0-9_-]{1,255}$", coalesce(var.salt_secret_id, "x")))
    error_message = "salt_secret_id must be a secret id (letters, digits, `_` and `-`), not a resource name."
  }
}

variable "encryption_key" {
  description = "The `PSOXY_ENCRYPTION_KEY` of an existing deployment (for reversible tokens). Null: a random one is generated when `generate_encryption_key` is true."
  type        = string
  default     = null
  sensitive   = true
}

variable "generate_encryption_key" {
  description = "Create the `PSOXY_ENCRYPTION_KEY` secret (needed only by rules that make reversible tokens)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------------------------

variable "cpu" {
  description = "vCPUs of each instance (`1`, `2`, `4`, `6` or `8`)."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "memory" {
  description = "Memory of each instance, e.g. `512Mi` (answers of up to 64 MiB are sanitized in memory)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "timeout_seconds" {
  description = "How long one proxied request may take, upstream call included (the service's request timeout). The caller's own HTTP timeout should be longer."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600."
  }
}

variable "concurrency" {
  description = "Requests one instance serves at once."
  type        = number
  default     = 20

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "min_instances" {
  description = "Instances kept warm (0: scale to zero; the first request after a pause then waits for a start)."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "At most this many instances run at once, which also caps the load on the source API; requests beyond what they serve get HTTP 429."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000
    error_message = "max_instances must be between 1 and 1000."
  }
}

variable "log_level" {
  description = "The service's log filter (`RUST_LOG`), e.g. `info` or `psoxy=debug,info`."
  type        = string
  default     = "info"
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (`projects/<project>/notificationChannels/<id>`) told when the service answers with a server error."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------------------------
# Who may call the service
# ---------------------------------------------------------------------------------------------

variable "caller_service_accounts" {
  description = "Emails of the service accounts allowed to call the service (`roles/run.invoker` on this service only), e.g. the analytics vendor's `proxy-caller@vendor-project.iam.gserviceaccount.com`. Each request carries an ID token of one of them whose audience is the service's URL. No one else, and never the public."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.caller_service_accounts : can(regex("^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+\\.gserviceaccount\\.com$", email))])
    error_message = "caller_service_accounts must be service-account emails (…@….gserviceaccount.com), without `serviceAccount:`; allUsers and allAuthenticatedUsers are refused."
  }
}

# ---------------------------------------------------------------------------------------------
# Asynchronous requests and side outputs
# ---------------------------------------------------------------------------------------------

variable "enable_async_processing" {
  description = "Answer `Prefer: respond-async` requests with 202 and a `Location` in an async output bucket made here, and run them in the background: each is a job object in a jobs bucket made here, pushed back to the service by an Eventarc trigger (ASYNC_OUTPUT_DESTINATION, ASYNC_API_REQUEST_QUEUE_URL), whose undeliverable events go to a dead-letter topic made here. For slow report APIs. Needs the `eventarc` and `pubsub` APIs, and an instance_id of at most 18 characters."
  type        = bool
  default     = false
}

variable "async_output_expiration_days" {
  description = "Days before an asynchronous answer in the async output bucket is deleted (0: never)."
  type        = number
  default     = 30

  validation {
    condition     = var.async_output_expiration_days >= 0 && floor(var.async_output_expiration_days) == var.async_output_expiration_days
    error_message = "async_output_expiration_days must be a whole number of days, 0 or more."
  }
}

variable "max_delivery_attempts" {
  description = "With enable_async_processing: delivery attempts of a job's event before it goes to the dead-letter topic (5-100), used in the output async_subscription_command."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's range)."
  }
}

variable "async_reader_members" {
  description = "IAM members (e.g. the analytics vendor's `serviceAccount:reader@vendor-project.iam.gserviceaccount.com`) given `roles/storage.objectViewer` on the async output bucket, nothing else."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.async_reader_members : can(regex("^(serviceAccount|user|group):[^[:space:]@]+@[^[:space:]@]+$", member))])
    error_message = "async_reader_members must be `serviceAccount:`, `user:` or `group:` members (allUsers and allAuthenticatedUsers are refused)."
  }
}

variable "side_output_sanitized" {
  description = "`gs://bucket/prefix` of an existing bucket where every 2xx sanitized answer is also written (SIDE_OUTPUT_SANITIZED); the service is granted `roles/storage.objectCreator` on that bucket. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.side_output_sanitized == null || can(regex("^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?$", var.side_output_sanitized))
    error_message = "side_output_sanitized must be gs://bucket or gs://bucket/prefix."
  }
}
