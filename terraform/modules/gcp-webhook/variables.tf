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
  description = "Region of the services, the buckets and the signing key's key ring, e.g. `europe-west1`."
  type        = string
}

variable "instance_id" {
  description = "Name of this collector, e.g. `events`. Used in the services' names (`psoxy-<instance_id>`, `psoxy-<instance_id>-batch`), their service accounts, the secrets' prefix (`PSOXY_<INSTANCE_ID>_`), the bucket names, the key ring and `PSOXY_INSTANCE_ID`."
  type        = string

  validation {
    # At most 18 characters: the service account ids `psoxy-<id>-batch` and `psoxy-<id>-sched`
    # may have 30.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,16}[a-z0-9]$", var.instance_id))
    error_message = "instance_id must be 2-18 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "image" {
  description = "The psoxy image (the `/psoxy-gcp` binary as entrypoint), by digest: `<region>-docker.pkg.dev/<project>/<repository>/psoxy-gcp@sha256:<digest>`, as `bash scripts/package-gcp.sh` prints it. Building and pushing it is not this module's job (see modules/gcp-bulk's README)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^[:space:]@]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.image))
    error_message = "image must be a full image reference with a digest (`...@sha256:<64 hex>`, preferred: a deployment is then exactly that image) or a tag."
  }
}

variable "rules_file" {
  description = "Path of the webhook rules YAML (Psoxy's WebhookCollectionRules: jwtClaimsToVerify and the endpoints' transforms), e.g. the repository's `transforms/webhook/events.yaml`; its content becomes `RULES` (gzipped when over 16 KB). Give this or `rules`, not both."
  type        = string
  default     = null

  validation {
    # `||` does not short-circuit: try() keeps fileexists(null) from failing.
    condition     = var.rules_file == null || try(fileexists(var.rules_file), false)
    error_message = "rules_file does not exist."
  }
}

variable "rules" {
  description = "The webhook rules as YAML text, instead of `rules_file`."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

variable "create_signing_key" {
  description = "Create a Cloud KMS asymmetric signing key (key ring `psoxy-<instance_id>-webhook-auth`, key `token-signer`) whose signatures the collector accepts: the customer's token issuer signs webhook JWTs with its version `signing_key_version` (asymmetricSign). That version's public key is added to `ACCEPTED_AUTH_KEYS`."
  type        = bool
  default     = true
}

variable "signing_key_version" {
  description = "With create_signing_key: the version of the signing key tokens are signed with, whose public key the collector accepts (output `signing_key_version`). 1 is made with the key; to rotate, create a version (`gcloud kms keys versions create`) and set its number here (see the README). It must exist and be enabled: a plan reads its public key, so destroying this version breaks plans."
  type        = number
  default     = 1

  validation {
    condition     = var.signing_key_version >= 1 && floor(var.signing_key_version) == var.signing_key_version
    error_message = "signing_key_version must be a whole number, 1 or more (Cloud KMS numbers versions from 1)."
  }
}

variable "signing_key_algorithm" {
  description = "Algorithm of the signing key: RSA_SIGN_PKCS1_<bits>_SHA256 for RS256 tokens, RSA_SIGN_PSS_<bits>_SHA256 for PS256 (the collector accepts RSA signatures only)."
  type        = string
  default     = "RSA_SIGN_PKCS1_2048_SHA256"

  validation {
    condition = contains([
      "RSA_SIGN_PKCS1_2048_SHA256", "RSA_SIGN_PKCS1_3072_SHA256", "RSA_SIGN_PKCS1_4096_SHA256",
      "RSA_SIGN_PSS_2048_SHA256", "RSA_SIGN_PSS_3072_SHA256", "RSA_SIGN_PSS_4096_SHA256",
    ], var.signing_key_algorithm)
    error_message = "signing_key_algorithm must be RSA_SIGN_PKCS1_<2048|3072|4096>_SHA256 (RS256) or RSA_SIGN_PSS_<2048|3072|4096>_SHA256 (PS256)."
  }
}

variable "signing_key_protection_level" {
  description = "Where the signing key's private half lives: SOFTWARE or HSM."
  type        = string
  default     = "SOFTWARE"

  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.signing_key_protection_level)
    error_message = "signing_key_protection_level must be SOFTWARE or HSM."
  }
}

variable "issuer_members" {
  description = "IAM members allowed to sign tokens with the signing key (`roles/cloudkms.signerVerifier` on that key only), e.g. `serviceAccount:token-issuer@my-project.iam.gserviceaccount.com`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.issuer_members : can(regex("^(serviceAccount|user|group):[^[:space:]@]+@[^[:space:]@]+$", member))])
    error_message = "issuer_members must be `serviceAccount:`, `user:` or `group:` members (allUsers and allAuthenticatedUsers are refused)."
  }
}

variable "accepted_auth_keys" {
  description = "Other keys tokens may be signed with (`ACCEPTED_AUTH_KEYS`): `base64:<RSA SubjectPublicKeyInfo, DER, base64>` each, e.g. the body of a PEM public key (`gcloud kms keys versions get-public-key`) without its BEGIN/END lines and line breaks. List the old key here while rotating."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for key in var.accepted_auth_keys : can(regex("^base64:[A-Za-z0-9+/]+={0,2}$", key))])
    error_message = "Each accepted key is `base64:` followed by the base64 of an RSA SubjectPublicKeyInfo (DER), without spaces or line breaks."
  }
}

variable "auth_issuer" {
  description = "`AUTH_ISSUER`: the `iss` every token must carry (and the issuer of the collector's discovery document). Null: `iss` is not checked."
  type        = string
  default     = null
}

variable "auth_audience" {
  description = "`AUTH_AUDIENCE`: a value every token's `aud` must hold. Null: `aud` is not checked."
  type        = string
  default     = null
}

variable "allow_origins" {
  description = "Browser origins allowed to send webhooks (CORS, `ALLOW_ORIGINS`), e.g. [\"https://tools.example.com\"]; `*` allows any; empty: the binary's default."
  type        = list(string)
  default     = ["*"]
}

variable "allowed_ip_blocks" {
  description = "Addresses and CIDR blocks allowed to send (`ALLOWED_DATA_ACCESS_IP_BLOCKS`); empty: any."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------

variable "queue_bucket_name" {
  description = "Name of the bucket the sanitized webhooks wait in until batched. Null: `psoxy-<instance_id>-queue-<8 random hex>`."
  type        = string
  default     = null
}

variable "queue_retention_days" {
  description = "Delete a queued webhook this many days after it was written, batched or not (a batch failing that long has been alerted on)."
  type        = number
  default     = 7

  validation {
    condition     = var.queue_retention_days >= 1 && floor(var.queue_retention_days) == var.queue_retention_days
    error_message = "queue_retention_days must be a whole number of days, 1 or more."
  }
}

variable "output_bucket_name" {
  description = "Name of the bucket the batches are written to (read by the analytics vendor). Null: `psoxy-<instance_id>-output-<8 random hex>`."
  type        = string
  default     = null
}

variable "output_prefix" {
  description = "Prefix of the batches' names in the output bucket, e.g. `webhooks/events` (`WEBHOOK_BATCH_OUTPUT` is `gs://<output bucket>/<prefix>/`); empty: the bucket's root."
  type        = string
  default     = ""
}

variable "output_expiration_days" {
  description = "Delete batches this many days after they are written (0: keep them)."
  type        = number
  default     = 0

  validation {
    condition     = var.output_expiration_days >= 0 && floor(var.output_expiration_days) == var.output_expiration_days
    error_message = "output_expiration_days must be a whole number of days, 0 or more."
  }
}

variable "output_reader_members" {
  description = "IAM members (e.g. the analytics vendor's `serviceAccount:reader@vendor-project.iam.gserviceaccount.com`) given `roles/storage.objectViewer` on the output bucket, nothing else."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.output_reader_members : can(regex("^(serviceAccount|user|group):[^[:space:]@]+@[^[:space:]@]+$", member))])
    error_message = "output_reader_members must be `serviceAccount:`, `user:` or `group:` members (allUsers and allAuthenticatedUsers are refused)."
  }
}

variable "kms_key_name" {
  description = "Customer-managed Cloud KMS key (`projects/.../locations/.../keyRings/.../cryptoKeys/...`, in the buckets' region) for both buckets; the module lets the Cloud Storage service agent use it (on the key only). Null: Google-managed encryption."
  type        = string
  default     = null
}

variable "enable_versioning" {
  description = "Turn on object versioning for the output bucket (the queue bucket is never versioned)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "With versioning, delete non-current object versions this many days after they are replaced."
  type        = number
  default     = 30
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects. Leave false outside of tests."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

variable "shared_secret_prefix" {
  description = "Secret-id prefix of settings shared by several instances (`PATH_TO_SHARED_CONFIG`), e.g. `PSOXY_SHARED_`, read after the instance's own. The collector is granted no secret under it but `salt_secret_id`. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.shared_secret_prefix == null || can(regex("^[A-Za-z0-9_-]+$", coalesce(var.shared_secret_prefix, "x")))
    error_message = "shared_secret_prefix must be letters, digits, `_` and `-` (a secret id prefix)."
  }
}

variable "salt" {
  description = "The salt of an existing deployment (`PSOXY_SALT`), so webhook pseudonyms join its bulk and API data. Null: a random 32-character salt is generated once and kept in the Terraform state and the secret. Ignored with `salt_secret_id`."
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
# The collector
# ---------------------------------------------------------------------------------------------

variable "cpu" {
  description = "vCPUs of each collector instance (`1`, `2`, `4`, `6` or `8`)."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "memory" {
  description = "Memory of each collector instance, e.g. `512Mi`."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "timeout_seconds" {
  description = "How long one webhook may take (the collector's request timeout)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600."
  }
}

variable "concurrency" {
  description = "Webhooks one collector instance handles at once."
  type        = number
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "min_instances" {
  description = "Collector instances kept warm (0: scale to zero; the first webhook after a pause then waits for a start)."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "At most this many collector instances run at once; webhooks beyond what they serve get HTTP 429."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000
    error_message = "max_instances must be between 1 and 1000."
  }
}

variable "extra_environment" {
  description = "More collector settings as environment variables (e.g. `{ EMAIL_CANONICALIZATION = \"IGNORE_DOTS\" }`). Never secrets, and never what the module sets itself: the names of the secret settings, of the token check (REQUIRE_AUTHORIZATION_HEADER, ACCEPTED_AUTH_KEYS, AUTH_ISSUER, AUTH_AUDIENCE: the public collector must always verify tokens, by the keys and claims given here) and of the queue and batch locations (WEBHOOK_OUTPUT, WEBHOOK_BATCH_OUTPUT) are refused."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.extra_environment) : !contains([
      "PSOXY_SALT", "PSOXY_ENCRYPTION_KEY", "SALT_EMAIL_DOMAINS", "ENCRYPTION_KEY_EMAIL_DOMAINS",
      "SALT_IP", "ENCRYPTION_KEY_IP",
      "REQUIRE_AUTHORIZATION_HEADER", "ACCEPTED_AUTH_KEYS", "AUTH_ISSUER", "AUTH_AUDIENCE",
      "WEBHOOK_OUTPUT", "WEBHOOK_BATCH_OUTPUT",
    ], name)])
    error_message = "extra_environment must not hold secrets (PSOXY_SALT, PSOXY_ENCRYPTION_KEY, SALT_EMAIL_DOMAINS, ENCRYPTION_KEY_EMAIL_DOMAINS, SALT_IP, ENCRYPTION_KEY_IP: they are Secret Manager secrets) nor what the module sets itself: REQUIRE_AUTHORIZATION_HEADER (the public collector always verifies tokens), ACCEPTED_AUTH_KEYS, AUTH_ISSUER, AUTH_AUDIENCE (use accepted_auth_keys, create_signing_key, auth_issuer, auth_audience), WEBHOOK_OUTPUT and WEBHOOK_BATCH_OUTPUT (the module's buckets)."
  }
}

# ---------------------------------------------------------------------------------------------
# The batches
# ---------------------------------------------------------------------------------------------

variable "batch_schedule" {
  description = "When the batch service runs (cron, UTC): each run merges what is queued into one object. Every minute by default."
  type        = string
  default     = "* * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.batch_schedule))) == 5
    error_message = "batch_schedule must be a five-field cron expression, e.g. `*/5 * * * *`."
  }
}

variable "batch_timeout_seconds" {
  description = "How long one batch run may take (the batch service's request timeout, and the scheduler's attempt deadline: 60 to 1800 seconds). A run merges for up to 50 seconds, then writes what it merged and answers."
  type        = number
  default     = 300

  validation {
    condition     = var.batch_timeout_seconds >= 60 && var.batch_timeout_seconds <= 1800
    error_message = "batch_timeout_seconds must be between 60 (a run merges for up to 50 seconds before it answers) and 1800 (Cloud Scheduler's longest attempt deadline)."
  }
}

variable "batch_cpu" {
  description = "vCPUs of the batch service's instance (`1`, `2`, `4`, `6` or `8`)."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.batch_cpu)
    error_message = "batch_cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "batch_memory" {
  description = "Memory of the batch service's instance, e.g. `1Gi` (a batch is gathered in memory before it is written)."
  type        = string
  default     = "1Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.batch_memory))
    error_message = "batch_memory must look like 512Mi or 2Gi."
  }
}

variable "scheduler_region" {
  description = "Region of the Cloud Scheduler job, when Cloud Scheduler is not offered in `region`. Null: `region`."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Logs and alerts
# ---------------------------------------------------------------------------------------------

variable "log_level" {
  description = "The services' log filter (`RUST_LOG`), e.g. `info` or `psoxy=debug,info`."
  type        = string
  default     = "info"
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (`projects/<project>/notificationChannels/<id>`) told when the collector or a batch answers with a server error."
  type        = list(string)
  default     = []
}
